/**
 * The one contract between the shell's main process and the preload: the name the renderer sees,
 * the channels, and what each call takes and returns. Main and preload both import it, so a
 * channel cannot be renamed on one side only. It holds no code that runs in either process
 * beyond constants, because the sandboxed preload bundles it.
 */

/** The global the renderer reads: `window.bivouac`. */
export const exposedApiName = 'bivouac';

/** What the renderer may ask of the shell about itself (for an "about" line and kiosk UI). */
export interface ShellInfo {
  /** True on the box's own screen, where there is no other browser and no window chrome. */
  kiosk: boolean;
  /** The shell's version (package.json), shown next to the appliance's own version. */
  version: string;
  /** `process.platform` of the shell, e.g. `linux`. */
  platform: string;
  /**
   * In kiosk mode, the id of this screen (kept across restarts of the shell): the renderer signs
   * in with it, which makes the session a kiosk session, the one kind that can be locked to the
   * app store. Null outside kiosk mode.
   */
  screenId: string | null;
}

/**
 * The object exposed as `window.bivouac`. Everything is async because it crosses a process
 * boundary; main validates every argument and the calling frame before acting.
 */
export interface BivouacApi {
  getShellInfo(): Promise<ShellInfo>;
  /**
   * Opens an http(s) link in the desktop's browser instead of the app window, which only ever
   * shows the appliance. Resolves false when the shell refused (not http(s), or in kiosk mode
   * where no other browser is visible).
   */
  openExternal(url: string): Promise<boolean>;
}

/** The IPC channel of every method; the preload can call nothing else. */
export const ipcChannels = {
  getShellInfo: 'bivouac:get-shell-info',
  openExternal: 'bivouac:open-external',
} as const satisfies { readonly [Method in keyof BivouacApi]: `bivouac:${string}` };

/** A method of the API, which is also the key of its channel. */
export type BivouacMethod = keyof BivouacApi;

/** The arguments of a method as they travel over IPC. */
export type IpcArguments<Method extends BivouacMethod> = Parameters<BivouacApi[Method]>;

/** The settled result of a method. */
export type IpcResult<Method extends BivouacMethod> = Awaited<ReturnType<BivouacApi[Method]>>;

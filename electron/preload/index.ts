/**
 * The preload: runs sandboxed before the appliance's page and exposes exactly one object,
 * `window.bivouac`, whose methods map one-to-one onto the channels of the IPC contract. The page
 * never sees `ipcRenderer` itself, so it cannot send on any other channel. Bundled to a single
 * CommonJS file because a sandboxed preload can neither load ES modules nor require other files.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposedApiName, ipcChannels, type BivouacApi, type ShellInfo } from '../ipc-contract.ts';

/**
 * Builds the exposed API around an `invoke` function; separate from the exposure so a test can
 * check that each method reaches its channel with only the arguments it declares.
 */
export function createBivouacApi(
  invoke: (channel: string, ...args: unknown[]) => Promise<unknown>,
): BivouacApi {
  return {
    getShellInfo: () => invoke(ipcChannels.getShellInfo) as Promise<ShellInfo>,
    // String(): only text crosses to main, whatever the page passes in.
    openExternal: (url) => invoke(ipcChannels.openExternal, String(url)) as Promise<boolean>,
  };
}

contextBridge.exposeInMainWorld(
  exposedApiName,
  createBivouacApi((channel, ...args) => ipcRenderer.invoke(channel, ...args)),
);

import { BrowserWindow, type BrowserWindowConstructorOptions } from 'electron';

/** What differs between the shell's windows; everything else is fixed policy. */
export interface WindowSpec {
  /** Absolute path of the bundled preload (`dist-electron/preload.cjs`). */
  preloadPath: string;
  /** The box's own screen: full screen, no window chrome, no menu, no DevTools. */
  kiosk: boolean;
}

/**
 * The options of every shell window, in one place so that no window can be created without the
 * hardening: the renderer is sandboxed, isolated from the preload's world, has no Node.js, keeps
 * the same-origin policy, and cannot load insecure content or attach `<webview>`. Kept pure so a
 * test can read the policy without an Electron binary.
 */
export function windowOptions(spec: WindowSpec): BrowserWindowConstructorOptions {
  const kioskOptions: BrowserWindowConstructorOptions = spec.kiosk
    ? { kiosk: true, fullscreen: true, frame: false, autoHideMenuBar: true }
    : { width: 1280, height: 800, minWidth: 800, minHeight: 560 };
  return {
    title: 'Bivouac',
    backgroundColor: '#1b1f24',
    // Shown on ready-to-show, so the box's screen never flashes an empty white frame.
    show: false,
    ...kioskOptions,
    webPreferences: {
      preload: spec.preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      // Anyone standing at the box can reach its keyboard; DevTools would run code as the app.
      devTools: !spec.kiosk,
    },
  };
}

/**
 * Creates a shell window: the only place `new BrowserWindow` is called. The caller loads the URL
 * and guards navigation; this function only decides how the window looks and what it may do.
 */
export function createWindow(spec: WindowSpec): BrowserWindow {
  const window = new BrowserWindow(windowOptions(spec));
  // In kiosk mode the menu's accelerators (reload, DevTools, zoom) must not exist at all.
  if (spec.kiosk) window.removeMenu();
  window.once('ready-to-show', () => window.show());
  return window;
}

import { describe, expect, it, vi } from 'vitest';

/** A fake of Electron's BrowserWindow (no Electron binary here): records options and calls. */
const fakeElectron = vi.hoisted(() => {
  class FakeBrowserWindow {
    static created: FakeBrowserWindow[] = [];
    readonly calls: string[] = [];
    private readonly onceListeners = new Map<string, () => void>();
    constructor(readonly options: unknown) {
      FakeBrowserWindow.created.push(this);
    }
    removeMenu(): void {
      this.calls.push('removeMenu');
    }
    show(): void {
      this.calls.push('show');
    }
    once(event: string, listener: () => void): void {
      this.onceListeners.set(event, listener);
    }
    emit(event: string): void {
      this.onceListeners.get(event)?.();
    }
  }
  return { FakeBrowserWindow };
});
vi.mock('electron', () => ({ BrowserWindow: fakeElectron.FakeBrowserWindow }));

const { createWindow, windowOptions } = await import('../../../electron/main/window.ts');

describe('windowOptions', () => {
  it.each([false, true])('isolates and sandboxes the renderer (kiosk: %s)', (kiosk) => {
    const { webPreferences } = windowOptions({
      preloadPath: '/app/dist-electron/preload.cjs',
      kiosk,
    });
    expect(webPreferences).toMatchObject({
      preload: '/app/dist-electron/preload.cjs',
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('gives the box screen a kiosk window without DevTools, and the desktop a normal one', () => {
    const kiosk = windowOptions({ preloadPath: '/p', kiosk: true });
    expect(kiosk).toMatchObject({ kiosk: true, frame: false });
    expect(kiosk.webPreferences?.devTools).toBe(false);
    const desktop = windowOptions({ preloadPath: '/p', kiosk: false });
    expect(desktop.kiosk).toBeUndefined();
    expect(desktop.webPreferences?.devTools).toBe(true);
  });
});

describe('createWindow', () => {
  it('creates the window hidden with the fixed policy and shows it when ready', () => {
    createWindow({ preloadPath: '/p', kiosk: false });
    const window = fakeElectron.FakeBrowserWindow.created.at(-1);
    expect(window?.options).toEqual(windowOptions({ preloadPath: '/p', kiosk: false }));
    expect(window?.calls).toEqual([]);
    window?.emit('ready-to-show');
    expect(window?.calls).toEqual(['show']);
  });

  it('removes the menu in kiosk mode, so reload, zoom and DevTools shortcuts do not exist', () => {
    createWindow({ preloadPath: '/p', kiosk: true });
    expect(fakeElectron.FakeBrowserWindow.created.at(-1)?.calls).toEqual(['removeMenu']);
  });
});

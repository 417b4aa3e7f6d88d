import type { IpcMainInvokeEvent } from 'electron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../../electron/ipc-contract.ts';

/** A fake of Electron's ipcMain (no Electron binary here): it only records the handlers. */
const fakeIpcMain = vi.hoisted(() => {
  const handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  return {
    handlers,
    handle(channel: string, handler: (event: unknown, ...args: unknown[]) => unknown): void {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, handler);
    },
    removeHandler(channel: string): void {
      handlers.delete(channel);
    },
  };
});
vi.mock('electron', () => ({ ipcMain: fakeIpcMain }));

const { createIpcHandlers, isTrustedSender, registerIpcHandlers, IpcRefusedError } =
  await import('../../../electron/main/ipc.ts');

const appOrigin = 'http://127.0.0.1:8080';
const shellInfo = { kiosk: false, version: '0.1.0', platform: 'linux', screenId: null };

type Sender = Pick<IpcMainInvokeEvent, 'senderFrame'>;
function fromFrame(url: string, isMainFrame = true): Sender {
  return {
    senderFrame: { url, parent: isMainFrame ? null : { url: appOrigin } },
  } as unknown as Sender;
}
const fromDestroyedFrame = { senderFrame: null } as unknown as Sender;

describe('isTrustedSender', () => {
  it('trusts only the main frame of an appliance page', () => {
    expect(isTrustedSender(fromFrame(`${appOrigin}/runs`), appOrigin)).toBe(true);
    expect(isTrustedSender(fromFrame(`${appOrigin}/runs`, false), appOrigin)).toBe(false);
    expect(isTrustedSender(fromFrame('https://evil.example.com/'), appOrigin)).toBe(false);
    expect(isTrustedSender(fromFrame('file:///tmp/x.html'), appOrigin)).toBe(false);
    expect(isTrustedSender(fromDestroyedFrame, appOrigin)).toBe(false);
  });
});

describe('createIpcHandlers', () => {
  it('returns a copy of the shell info', async () => {
    const handlers = createIpcHandlers({ appOrigin, shellInfo });
    const info = await handlers.getShellInfo();
    expect(info).toEqual(shellInfo);
    info.kiosk = true;
    expect((await handlers.getShellInfo()).kiosk).toBe(false);
  });

  it('opens an http(s) link in the browser', async () => {
    const opened: string[] = [];
    const handlers = createIpcHandlers({
      appOrigin,
      shellInfo,
      openExternal: async (url) => void opened.push(url),
    });
    await expect(handlers.openExternal('https://docs.example.org/guide')).resolves.toBe(true);
    expect(opened).toEqual(['https://docs.example.org/guide']);
  });

  it.each([
    ['a number', 42],
    ['an object', { toString: () => 'https://example.org/' }],
    ['undefined', undefined],
    ['file:', 'file:///etc/passwd'],
    ['javascript:', 'javascript:alert(1)'],
    ['a custom scheme', 'steam://run/1'],
    ['credentials', 'https://user:pw@example.org/'],
    ['not a URL', 'example.org'],
  ])('refuses to open %s', async (_what, input) => {
    const opened: string[] = [];
    const handlers = createIpcHandlers({
      appOrigin,
      shellInfo,
      openExternal: async (url) => void opened.push(url),
    });
    await expect(handlers.openExternal(input)).resolves.toBe(false);
    expect(opened).toEqual([]);
  });

  it('refuses every link when there is no browser (kiosk)', async () => {
    const handlers = createIpcHandlers({ appOrigin, shellInfo: { ...shellInfo, kiosk: true } });
    await expect(handlers.openExternal('https://docs.example.org/')).resolves.toBe(false);
  });
});

describe('registerIpcHandlers', () => {
  afterEach(() => fakeIpcMain.handlers.clear());

  function invoke(channel: string, sender: Sender, ...args: unknown[]): unknown {
    const handler = fakeIpcMain.handlers.get(channel);
    if (!handler) throw new Error(`nothing handles ${channel}`);
    return handler(sender, ...args);
  }

  it('handles every channel of the contract and nothing else', () => {
    registerIpcHandlers({ appOrigin, shellInfo });
    expect([...fakeIpcMain.handlers.keys()].sort()).toEqual(Object.values(ipcChannels).sort());
  });

  it('answers a trusted caller', async () => {
    registerIpcHandlers({ appOrigin, shellInfo });
    await expect(invoke(ipcChannels.getShellInfo, fromFrame(`${appOrigin}/`))).resolves.toEqual(
      shellInfo,
    );
  });

  it('refuses callers that are not the appliance main frame, before looking at their arguments', () => {
    const opened: string[] = [];
    registerIpcHandlers({
      appOrigin,
      shellInfo,
      openExternal: async (url) => void opened.push(url),
    });
    for (const sender of [
      fromFrame('https://evil.example.com/'),
      fromFrame(`${appOrigin}/`, false),
      fromDestroyedFrame,
    ]) {
      expect(() => invoke(ipcChannels.openExternal, sender, 'https://docs.example.org/')).toThrow(
        IpcRefusedError,
      );
    }
    expect(() => invoke(ipcChannels.getShellInfo, fromFrame('https://evil.example.com/'))).toThrow(
      /refused a call from a main frame at "https:\/\/evil/,
    );
    expect(opened).toEqual([]);
  });

  it('removes its handlers on stop, so they can be registered again', async () => {
    const stop = registerIpcHandlers({ appOrigin, shellInfo });
    await stop();
    expect(fakeIpcMain.handlers.size).toBe(0);
    expect(() => registerIpcHandlers({ appOrigin, shellInfo })).not.toThrow();
  });
});

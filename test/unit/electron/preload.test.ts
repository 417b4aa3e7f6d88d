import { describe, expect, it, vi } from 'vitest';
import { exposedApiName, ipcChannels, type BivouacApi } from '../../../electron/ipc-contract.ts';

/** A fake of Electron's contextBridge and ipcRenderer (no Electron binary here). */
const fakeElectron = vi.hoisted(() => {
  const exposed = new Map<string, unknown>();
  const invocations: unknown[][] = [];
  return {
    exposed,
    invocations,
    contextBridge: {
      exposeInMainWorld: (name: string, api: unknown) => void exposed.set(name, api),
    },
    ipcRenderer: {
      invoke: async (channel: string, ...args: unknown[]) => {
        invocations.push([channel, ...args]);
        return channel === 'bivouac:open-external';
      },
    },
  };
});
vi.mock('electron', () => ({
  contextBridge: fakeElectron.contextBridge,
  ipcRenderer: fakeElectron.ipcRenderer,
}));

await import('../../../electron/preload/index.ts');

describe('the preload', () => {
  it('exposes exactly one object, with exactly the methods of the contract', () => {
    expect([...fakeElectron.exposed.keys()]).toEqual([exposedApiName]);
    const api = fakeElectron.exposed.get(exposedApiName) as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual(Object.keys(ipcChannels).sort());
    expect(api).not.toHaveProperty('invoke');
  });

  it('sends each call on its own channel with only text arguments', async () => {
    const api = fakeElectron.exposed.get(exposedApiName) as BivouacApi;
    fakeElectron.invocations.length = 0;
    await api.getShellInfo();
    await expect(api.openExternal('https://docs.example.org/')).resolves.toBe(true);
    await api.openExternal({ toString: () => 'https://x.example/' } as unknown as string);
    expect(fakeElectron.invocations).toEqual([
      [ipcChannels.getShellInfo],
      [ipcChannels.openExternal, 'https://docs.example.org/'],
      [ipcChannels.openExternal, 'https://x.example/'],
    ]);
  });
});

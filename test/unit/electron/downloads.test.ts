import { EventEmitter } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DownloadItem, Session } from 'electron';
import { describe, expect, it, vi } from 'vitest';

// No Electron binary runs here: the module must not need Electron's runtime at all.
vi.mock('electron', () => ({}));

const { downloadPath, handleDownloads } = await import('../../../electron/main/downloads.ts');

/** A fake of Electron's DownloadItem: it records what the handler decided. */
class FakeDownloadItem {
  savePath: string | null = null;
  cancelled = false;
  constructor(private readonly filename: string) {}
  getFilename(): string {
    return this.filename;
  }
  setSavePath(path: string): void {
    this.savePath = path;
  }
  cancel(): void {
    this.cancelled = true;
  }
}

/** A fake of Electron's Session: only its events. */
const fakeSession = () => new EventEmitter() as EventEmitter & Session;

describe('downloads in the shell (L6)', () => {
  const none = () => false;

  it('L6: on the kiosk screen every download is cancelled, so no Save dialog (a file browser) ever opens', async () => {
    expect(
      downloadPath('module.yaml', { kiosk: true, folder: '/home/box/Downloads' }, none),
    ).toBeNull();
    const session = fakeSession();
    const stop = handleDownloads(session, { kiosk: true, folder: '/home/box/Downloads' });
    const item = new FakeDownloadItem('module.yaml');
    session.emit('will-download', {}, item as unknown as DownloadItem);
    expect(item).toMatchObject({ cancelled: true, savePath: null });
    await stop();
    expect(session.listenerCount('will-download')).toBe(0);
  });

  it('L6: elsewhere a download is saved in the fixed folder without a dialog, never overwriting a file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'bivouac-downloads-'));
    const session = fakeSession();
    const stop = handleDownloads(session, { kiosk: false, folder });
    const first = new FakeDownloadItem('web.yaml');
    session.emit('will-download', {}, first as unknown as DownloadItem);
    expect(first).toMatchObject({ cancelled: false, savePath: join(folder, 'web.yaml') });
    await writeFile(join(folder, 'web.yaml'), 'kind: image\n');
    const second = new FakeDownloadItem('web.yaml');
    session.emit('will-download', {}, second as unknown as DownloadItem);
    expect(second.savePath).toBe(join(folder, 'web (1).yaml'));
    await stop();
  });

  it('L6: keeps a suggested name to a plain file name in the folder', () => {
    const folder = '/home/box/Downloads';
    expect(downloadPath('../../.bashrc', { kiosk: false, folder }, none)).toBe(
      join(folder, 'bashrc'),
    );
    expect(downloadPath('/etc/passwd', { kiosk: false, folder }, none)).toBe(
      join(folder, 'passwd'),
    );
    expect(downloadPath('a\u0000b;c.txt', { kiosk: false, folder }, none)).toBe(
      join(folder, 'a_b_c.txt'),
    );
    expect(downloadPath('', { kiosk: false, folder }, none)).toBe(join(folder, 'download'));
  });
});

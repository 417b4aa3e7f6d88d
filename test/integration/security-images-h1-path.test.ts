import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { evilImage } from '../fixtures/evil-images.ts';
import { useImageSafetyBox } from '../fixtures/image-safety-box.ts';

/**
 * Imports by path read only regular files inside removable media or the import folders (H1-path):
 * no host path, folder, FIFO, device, link out of the stick or oversized file. Images made as an
 * attacker would (test/fixtures/evil-images.ts), on the box of test/fixtures/image-safety-box.ts.
 */
describe('the image store takes data only (H1-path)', () => {
  let box: TestAppliance;
  let admin: Client;
  let operator: Client;
  let usb: string;
  const { importImage, importApp, listImages, operatorHears, failureOf, nothingStored } =
    useImageSafetyBox((parts) => ({ box, admin, operator, usb } = parts));

  it('H1-path: an import by path of a qcow2 with a backing file fails with IMAGE_UNSAFE, told to administrators only, and leaves nothing listed', async () => {
    const backing = evilImage(usb, 'backing');
    const started = await importImage({ kind: 'disk', name: 'evil', path: backing });
    expect(started.statusCode).toBe(202);
    const failed = await failureOf(started.json<{ id: string }>().id);
    expect(failed.data).toMatchObject({
      code: 'IMAGE_UNSAFE',
      details: { found: ['backing-file'] },
    });
    expect(failed.data.error).toContain(backing);
    await nothingStored();
    expect(await listImages(operator)).toEqual([]);
    // The operator's stream heard nothing of it: neither the path nor the failure.
    expect(operatorHears().filter((event) => event.subject.kind === 'image')).toEqual([]);
  });

  it('H1-path: a path outside removable media and the import folders is refused with IMPORT_PATH_REFUSED, whether it exists or not', async () => {
    for (const path of [
      '/etc/passwd',
      '/etc/shadow',
      '/nonexistent/x.qcow2',
      `${usb}/../../etc/passwd`,
      join(box.dataDir, 'bivouac.json'),
    ]) {
      const refused = await importImage({ kind: 'disk', name: 'x', path });
      expect(refused.statusCode, path).toBe(403);
      expect(refused.json(), path).toMatchObject({
        error: {
          code: 'IMPORT_PATH_REFUSED',
          details: { allowed: expect.arrayContaining(['/media', usb]) },
        },
      });
    }
    await nothingStored();
  });

  it('H1-path: POST /apps/import {"path":"/etc"} is refused at once with IMPORT_PATH_REFUSED, and a folder inside the import folder with NOT_A_REGULAR_FILE', async () => {
    const etc = await importApp('/etc');
    expect(etc.statusCode).toBe(403);
    expect(etc.json()).toMatchObject({ error: { code: 'IMPORT_PATH_REFUSED' } });
    await mkdir(join(usb, 'folder.bvc'));
    const folder = await importApp(join(usb, 'folder.bvc'));
    expect(folder.statusCode).toBe(422);
    expect(folder.json()).toMatchObject({
      error: { code: 'NOT_A_REGULAR_FILE', details: { type: 'directory' } },
    });
  });

  it('H1-path: a FIFO in the import folder is refused at once with NOT_A_REGULAR_FILE, as a bundle and as an image', async () => {
    execFileSync('mkfifo', [join(usb, 'pipe.bvc')]);
    const app = await importApp(join(usb, 'pipe.bvc'));
    expect(app.json()).toMatchObject({
      error: { code: 'NOT_A_REGULAR_FILE', details: { type: 'fifo' } },
    });
    const image = await importImage({ kind: 'disk', name: 'pipe', path: join(usb, 'pipe.bvc') });
    expect(image.json()).toMatchObject({
      error: { code: 'NOT_A_REGULAR_FILE', details: { type: 'fifo' } },
    });
    await nothingStored();
  });

  it('H1-path: /dev/zero is refused, and where an import folder holds devices it is refused as a device', async () => {
    expect((await importApp('/dev/zero')).json()).toMatchObject({
      error: { code: 'IMPORT_PATH_REFUSED' },
    });
    const careless = await makeAppliance({ importDirs: ['/dev'] });
    try {
      const client = await setupAdmin(careless.app);
      const refused = await careless.app.inject({
        method: 'POST',
        url: '/api/v1/apps/import',
        headers: as(client),
        payload: { path: '/dev/zero' },
      });
      expect(refused.json()).toMatchObject({
        error: { code: 'NOT_A_REGULAR_FILE', details: { type: 'device' } },
      });
    } finally {
      await careless.services.clouds.close();
      await careless.close();
    }
  });

  it('H1-path: a symbolic link on the stick that leads to a host file or into the data dir is refused; one that stays on the stick is followed', async () => {
    const safe = evilImage(usb, 'safe');
    await symlink('/etc/passwd', join(usb, 'passwd.qcow2'));
    await symlink(join(box.dataDir, 'bivouac.json'), join(usb, 'store.bvc'));
    await symlink(safe, join(usb, 'link.qcow2'));
    expect(
      (await importImage({ kind: 'disk', name: 'passwd', path: join(usb, 'passwd.qcow2') })).json(),
    ).toMatchObject({ error: { code: 'IMPORT_PATH_REFUSED' } });
    expect((await importApp(join(usb, 'store.bvc'))).json()).toMatchObject({
      error: { code: 'IMPORT_PATH_REFUSED' },
    });
    const followed = await importImage({
      kind: 'disk',
      name: 'linked',
      path: join(usb, 'link.qcow2'),
    });
    expect(followed.statusCode).toBe(202);
    await expect
      .poll(async () => (await listImages(admin)).map((image) => `${image.name} ${image.status}`), {
        timeout: 30_000,
      })
      .toEqual(['linked ready']);
  });

  it('H1-path: a file beyond the size limit is refused with FILE_TOO_LARGE before a byte is read', async () => {
    const big = await open(join(usb, 'big.bvc'), 'w');
    await big.truncate(limits.bundleBytes + 1); // sparse: nothing is written
    await big.close();
    expect((await importApp(join(usb, 'big.bvc'))).json()).toMatchObject({
      error: { code: 'FILE_TOO_LARGE', details: { limitBytes: limits.bundleBytes } },
    });
  });

  it('H1-path: GET /apps/sources lists bundles in the import folders, but no links, FIFOs or folders', async () => {
    await writeFile(join(usb, 'real.bvc'), 'x');
    await symlink('/etc/passwd', join(usb, 'link.bvc'));
    execFileSync('mkfifo', [join(usb, 'pipe.bvc')]);
    await mkdir(join(usb, 'dir.bvc'));
    const sources = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps/sources', headers: as(admin) })
    ).json<{ path: string }[]>();
    expect(sources.map((source) => source.path).filter((path) => path.startsWith(usb))).toEqual([
      join(usb, 'real.bvc'),
    ]);
  });
});

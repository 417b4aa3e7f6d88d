import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { as, tempDir, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { bundleWithDisk, evilImage, initrd, qemuImg } from '../fixtures/evil-images.ts';
import { useImageSafetyBox } from '../fixtures/image-safety-box.ts';

/**
 * Images are data, never a path to the host (H1): a qcow2 naming a backing file or an external data
 * file, an encrypted one or one of a huge virtual size is refused, whether uploaded, imported,
 * carried by a bundle or built in. Images made as an attacker would (test/fixtures/evil-images.ts),
 * on the box of test/fixtures/image-safety-box.ts.
 */
describe('the image store takes data only (H1)', () => {
  let box: TestAppliance;
  let operator: Client;
  let usb: string;
  let imageDir: string;
  const { upload, importImage, importApp, listImages, operatorHears, failureOf, nothingStored } =
    useImageSafetyBox((parts) => ({ box, operator, usb, imageDir } = parts));

  it('H1: an upload whose qcow2 names a backing file is refused with IMAGE_UNSAFE, and nothing is kept', async () => {
    const refused = await upload(await readFile(evilImage(usb, 'backing')), 'evil');
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'IMAGE_UNSAFE',
        details: { file: 'disk', found: ['backing-file'], backingFile: '/etc/passwd' },
      },
    });
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(
      /names a backing file; only a self-contained qcow2 disk/,
    );
    await nothingStored();
  });

  it('H1: uploads with an external data file, encryption or a virtual size beyond the limit are refused, each named in details.found', async () => {
    const cases: [string, string, string][] = [
      [evilImage(usb, 'dataFile'), 'data-file', 'dataFile'],
      [evilImage(usb, 'encrypted'), 'encrypted', 'format'],
      [evilImage(usb, 'huge'), 'virtual-size', 'virtualBytes'],
    ];
    for (const [path, finding, detail] of cases) {
      const refused = await upload(await readFile(path), finding);
      expect(refused.json(), finding).toMatchObject({
        error: { code: 'IMAGE_UNSAFE', details: { found: [finding] } },
      });
      expect(
        refused.json<{ error: { details: Record<string, unknown> } }>().error.details[detail],
        finding,
      ).toBeDefined();
    }
    // A file that is no qcow2 at all is refused by the same code.
    expect(
      (await upload(Buffer.from('QFI\xfb but not really', 'latin1'), 'fake')).json(),
    ).toMatchObject({ error: { code: 'IMAGE_UNSAFE', details: { found: ['unreadable'] } } });
    await nothingStored();
    // A plain qcow2 is still welcome.
    expect((await upload(await readFile(evilImage(usb, 'safe')), 'safe')).json()).toMatchObject({
      name: 'safe',
      status: 'ready',
    });
  }, 60_000); // qemu-img takes seconds to make the LUKS header

  it('H1: the sha256 of a file that does not match reaches only the administrator who asked', async () => {
    const started = await importImage({
      kind: 'disk',
      name: 'wrong',
      path: evilImage(usb, 'safe'),
      sha256: '0'.repeat(64),
    });
    const failed = await failureOf(started.json<{ id: string }>().id);
    expect(failed.data).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(await listImages(operator)).toEqual([]);
    expect(JSON.stringify(operatorHears())).not.toMatch(/[0-9a-f]{64}/);
  });

  it('H1: a bundle carrying a disk image with a backing file is refused with IMAGE_UNSAFE, installing nothing', async () => {
    const refused = await importApp(
      await bundleWithDisk(usb, evilImage(await tempDir('bivouac-evil-'), 'backing')),
    );
    expect(refused.json()).toMatchObject({
      error: { code: 'IMAGE_UNSAFE', details: { found: ['backing-file'] } },
    });
    expect(box.services.store.data.apps).toEqual([]);
    expect(box.services.store.data.modules).toEqual([]);
    await nothingStored();
  });

  it('H1: a built-in image is checked by the same rule: a kernel that is a disk format of its own is refused', async () => {
    const shipped = await tempDir('bivouac-built-in-');
    await mkdir(join(shipped, 'odd'));
    // An ELF header with a VDI signature at 0x40: qemu-img takes it for a VirtualBox disk.
    const odd = Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(4096)]);
    odd.writeUInt32LE(0xbeda107f, 0x40);
    await writeFile(join(shipped, 'odd', 'vmlinux'), odd);
    await writeFile(join(shipped, 'odd', 'initrd'), initrd);
    const sha = (bytes: Buffer) =>
      execFileSync('sha256sum', { input: bytes }).toString().split(' ')[0] ?? '';
    await writeFile(
      join(shipped, 'odd', 'image.json'),
      JSON.stringify({
        name: 'odd',
        kind: 'kernel',
        kernel: 'vmlinux',
        initrd: 'initrd',
        cmdline: 'console=ttyS0',
        sha256: { kernel: sha(odd), initrd: sha(initrd) },
      }),
    );
    const result = await box.services.images.installBuiltIn(shipped);
    expect(result.installed).toEqual([]);
    expect(result.failed).toEqual([
      { image: 'odd', error: expect.stringMatching(/not of the declared format|could not read/) },
    ]);
    await nothingStored();
  });

  it('H1: a pre-flight and a deploy that need an image the start-up check found unusable are refused with IMAGE_UNUSABLE', async () => {
    // An image as older versions stored it, unchecked.
    await mkdir(join(imageDir, 'old'), { recursive: true });
    qemuImg(
      '-f',
      'qcow2',
      '-b',
      '/etc/passwd',
      '-F',
      'raw',
      '-u',
      join(imageDir, 'old', 'disk.qcow2'),
      '1M',
    );
    await box.services.store.update((document) => {
      document.images.push({
        id: 'old',
        name: 'evil',
        kind: 'disk',
        status: 'ready',
        error: null,
        sizeBytes: 0,
        virtualBytes: null,
        sha256: {},
        cmdline: null,
        createdAt: new Date().toISOString(),
        createdBy: 'system',
      });
    });
    expect((await importApp(await bundleWithDisk(usb, null))).statusCode).toBe(201);
    expect(await box.services.images.recheck()).toEqual({
      unusable: [{ image: 'evil', reason: expect.stringMatching(/names a backing file/) }],
    });
    expect(await listImages(operator)).toEqual([
      expect.objectContaining({ name: 'evil', status: 'unusable' }),
    ]);

    const preflight = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/evil-app/preflight',
      headers: as(operator),
      payload: {},
    });
    expect(preflight.json()).toMatchObject({ ok: false });
    expect(preflight.json<{ checks: unknown[] }>().checks).toContainEqual(
      expect.objectContaining({
        check: 'image.vm',
        ok: false,
        details: expect.objectContaining({ code: 'IMAGE_UNUSABLE' }),
      }),
    );
    const deployed = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/evil-app/deploy',
      headers: as(operator),
      payload: {},
    });
    expect(deployed.json()).toMatchObject({
      error: {
        code: 'PREFLIGHT_FAILED',
        details: {
          checks: [
            expect.objectContaining({
              details: expect.objectContaining({ code: 'IMAGE_UNUSABLE' }),
            }),
          ],
        },
      },
    });
    const run = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(operator),
      payload: { module: '/apps/evil-app/vm' },
    });
    expect(run.json()).toMatchObject({
      error: { code: 'IMAGE_UNUSABLE', details: { image: 'evil' } },
    });
  });
});

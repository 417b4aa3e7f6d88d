import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { sha, useImageStoreBox, type ImageBody } from '../fixtures/image-store-box.ts';

/**
 * Importing images by path and by upload: a qcow2 disk or a kernel and initrd verified against
 * their sha256 and stored; files that are not what they claim, that differ, or that do not fit
 * refused before anything is written. On the box of test/fixtures/image-store-box.ts.
 */
describe('the image store: importing', () => {
  let box: TestAppliance;
  let admin: Client;
  let files: string;
  let imageDir: string;
  // What the image store's disk has free: a test may shrink it.
  let freeBytes = Number.MAX_SAFE_INTEGER;
  beforeEach(() => {
    freeBytes = Number.MAX_SAFE_INTEGER;
  });
  const { qcow2, importImage, images, settled, failure, eventTypes, progressEvents } =
    useImageStoreBox(
      (parts) => ({ box, admin, files, imageDir } = parts),
      () => freeBytes,
    );

  it('imports a qcow2 disk from a path, verifies its sha256 and stores it', async () => {
    const path = await qcow2('debian.qcow2');
    const bytes = await readFile(path);
    const started = await importImage({
      kind: 'disk',
      name: 'debian-12',
      path,
      sha256: sha(bytes).toUpperCase(),
    });
    expect(started.statusCode).toBe(202);
    expect(started.json()).toMatchObject({ name: 'debian-12', status: 'importing' });
    const image = await settled(started.json<ImageBody>().id);
    expect(image).toMatchObject({
      status: 'ready',
      error: null,
      sizeBytes: bytes.length,
      sha256: { disk: sha(bytes) },
    });
    expect(await readFile(join(imageDir, image.id, 'disk.qcow2'))).toEqual(bytes);
    // The record is ready before its event is out (the event log writes it first): wait for it.
    await expect.poll(() => eventTypes().at(-1)).toBe('image.ready');
    expect(eventTypes()[0]).toBe('image.importing');
    const progress = progressEvents().map((event) => event.data.receivedBytes as number);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // Progress is transient: delivered live, never numbered or kept for replay.
    expect(progressEvents().every((event) => event.id === undefined)).toBe(true);
    expect(
      (box.services.events.since(0) ?? [])
        .filter((event) => event.subject.kind === 'image')
        .map((event) => event.type),
    ).toEqual(['image.importing', 'image.ready']);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(bytes.length);
    expect(box.services.images.bootImage(image.id)).toEqual({
      kind: 'disk',
      path: join(imageDir, image.id, 'disk.qcow2'),
      format: 'qcow2',
    });
  });

  it('imports a kernel and initrd pair for direct boot', async () => {
    const kernel = Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(4096, 1)]); // an ELF header, like vmlinux
    const initrd = gzipSync(Buffer.from('070701 a cpio archive'));
    await writeFile(join(files, 'vmlinux'), kernel);
    await writeFile(join(files, 'initrd.img'), initrd);
    const started = await importImage({
      kind: 'kernel',
      name: 'tiny',
      kernel: { path: join(files, 'vmlinux'), sha256: sha(kernel) },
      initrd: { path: join(files, 'initrd.img') },
    });
    const image = await settled(started.json<ImageBody>().id);
    expect(image).toMatchObject({
      status: 'ready',
      kind: 'kernel',
      sha256: { kernel: sha(kernel), initrd: sha(initrd) },
    });
    expect(box.services.images.bootImage(image.id)).toMatchObject({
      kind: 'kernel',
      cmdline: 'console=ttyS0',
    });
    const progress = progressEvents().map((event) => event.data);
    expect(progress).toContainEqual(
      expect.objectContaining({ file: 'kernel', receivedBytes: kernel.length }),
    );
    expect(progress.at(-1)).toMatchObject({
      file: 'initrd',
      receivedBytes: kernel.length + initrd.length,
      totalBytes: kernel.length + initrd.length,
    });
  });

  it("refuses a file whose sha256 differs, leaving nothing behind but the administrators' event", async () => {
    const path = await qcow2('altered.qcow2');
    const started = await importImage({
      kind: 'disk',
      name: 'altered',
      path,
      sha256: '0'.repeat(64),
    });
    const failed = await failure(started.json<ImageBody>().id);
    expect(failed.data).toMatchObject({
      status: 'failed',
      code: 'CHECKSUM_MISMATCH',
      error: expect.stringMatching(/sha256 .* not the expected 0{64}/),
    });
    expect(failed.access).toEqual({ owner: admin.userId, acl: [] });
    expect(await images()).toEqual([]);
    expect(await readdir(imageDir)).toEqual([]);
    expect(() => box.services.images.bootImage(started.json<ImageBody>().id)).toThrow(
      /No base image/,
    );

    // The name is free again.
    const again = await importImage({ kind: 'disk', name: 'altered', path });
    expect((await settled(again.json<ImageBody>().id)).status).toBe('ready');
    expect((await images()).map((candidate) => candidate.name)).toEqual(['altered']);
  });

  it('refuses files that are not what they claim to be', async () => {
    await writeFile(join(files, 'notes.txt'), 'not a disk at all');
    const started = await importImage({
      kind: 'disk',
      name: 'notes',
      path: join(files, 'notes.txt'),
    });
    const failed = await failure(started.json<ImageBody>().id);
    expect(failed.data).toMatchObject({
      code: 'IMAGE_UNSAFE',
      details: { found: ['format'] },
      error: expect.stringMatching(/is not a qcow2 disk/),
    });
    expect(await images()).toEqual([]);
    expect(await readdir(imageDir)).toEqual([]);
  });

  it('checks disk space and paths before anything is written', async () => {
    const path = await qcow2('big.qcow2');
    freeBytes = 10 * 1024 ** 2;
    const refused = await importImage({ kind: 'disk', name: 'big', path });
    expect(refused.statusCode).toBe(507);
    expect(refused.json()).toMatchObject({ error: { code: 'NO_SPACE', details: { freeBytes } } });
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(
      /only 10 MiB are free/,
    );

    const relative = await importImage({ kind: 'disk', name: 'x', path: 'images/x.qcow2' });
    expect(relative.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { fields: [expect.objectContaining({ field: 'body.path' })] },
      },
    });
    const outside = await importImage({ kind: 'disk', name: 'x', path: '/nonexistent/x.qcow2' });
    expect(outside.json()).toMatchObject({ error: { code: 'IMPORT_PATH_REFUSED' } });
    const missing = await importImage({
      kind: 'disk',
      name: 'x',
      path: join(files, 'missing.qcow2'),
    });
    expect(missing.json()).toMatchObject({
      error: { code: 'NOT_FOUND', details: { resource: 'file' } },
    });
    expect(await images()).toEqual([]);
  });

  it('takes uploads as a raw stream, beyond the JSON body limit', async () => {
    const bytes = await readFile(await qcow2('upload.qcow2'));
    const big = Buffer.concat([bytes, Buffer.alloc(1024 * 1024)]); // qcow2 header + padding: 1.2 MB
    const upload = (payload: Buffer, query: string, contentType = 'application/octet-stream') =>
      box.app.inject({
        method: 'POST',
        url: `/api/v1/images/upload?${query}`,
        headers: { ...as(admin), 'content-type': contentType },
        payload,
      });

    const stored = await upload(big, `name=uploaded&sha256=${sha(big)}`);
    expect(stored.statusCode).toBe(201);
    expect(stored.json()).toMatchObject({
      status: 'ready',
      sizeBytes: big.length,
      sha256: { disk: sha(big) },
    });

    const wrong = await upload(big, `name=wrong&sha256=${'a'.repeat(64)}`);
    expect(wrong.statusCode).toBe(422);
    expect(wrong.json()).toMatchObject({ error: { code: 'CHECKSUM_MISMATCH' } });
    const asJson = await upload(Buffer.from('{}'), 'name=json', 'application/json');
    expect(asJson.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect((await images()).map((image) => image.name)).toEqual(['uploaded']);
    expect(await readdir(imageDir)).toHaveLength(1);
  });
});

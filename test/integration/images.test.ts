import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveredEvent } from '../../appliance/src/domain/events.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

interface ImageBody {
  id: string;
  name: string;
  kind: string;
  status: string;
  error: string | null;
  sha256: Record<string, string>;
  sizeBytes: number;
  virtualBytes: number | null;
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('the image store', () => {
  let box: TestAppliance;
  let admin: Client;
  let files: string;
  let imageDir: string;
  let freeBytes = Number.MAX_SAFE_INTEGER;
  /** Every event the open streams would get, durable and transient. */
  let heard: DeliveredEvent[];

  beforeEach(async () => {
    heard = [];
    files = await tempDir('bivouac-usb-');
    imageDir = join(await tempDir('bivouac-images-'), 'images');
    freeBytes = Number.MAX_SAFE_INTEGER;
    box = await makeAppliance({ imageDir, imageFreeBytes: async () => freeBytes });
    box.services.events.subscribe((event) => heard.push(event));
    await box.services.images.recover();
    admin = await setupAdmin(box.app);
  });
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  /** A real qcow2 file made by qemu-img. */
  async function qcow2(name: string): Promise<string> {
    const path = join(files, name);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '64M']);
    return path;
  }

  const importImage = (payload: object) =>
    box.app.inject({ method: 'POST', url: '/api/v1/images/import', headers: as(admin), payload });
  const images = async () =>
    (await box.app.inject({ method: 'GET', url: '/api/v1/images', headers: as(admin) })).json<
      ImageBody[]
    >();
  const settled = async (id: string) => {
    await expect
      .poll(async () => (await images()).find((image) => image.id === id)?.status, {
        timeout: 30_000,
      })
      .not.toBe('importing');
    return (await images()).find((image) => image.id === id)!;
  };
  /** The administrators' image.failed event of an import by path, once it came. */
  const failure = async (id: string) => {
    await expect
      .poll(() => heard.some((event) => event.type === 'image.failed' && event.subject.id === id), {
        timeout: 30_000,
      })
      .toBe(true);
    return heard.find((event) => event.type === 'image.failed' && event.subject.id === id)!;
  };
  const eventTypes = () =>
    heard.filter((event) => event.subject.kind === 'image').map((event) => event.type);
  const progressEvents = () => heard.filter((event) => event.type === 'image.progress');

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

  it('refuses to delete an image a VM uses, and deletes it once the VM is gone', async () => {
    const started = await importImage({
      kind: 'disk',
      name: 'base',
      path: await qcow2('base.qcow2'),
    });
    const image = await settled(started.json<ImageBody>().id);
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-img-web-1', { owner: admin.userId }),
      null,
      image.id,
    );
    const refused = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/images/${image.id}`,
      headers: as(admin),
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'IMAGE_IN_USE', details: { vms: 1 } } });
    await box.services.vms.terminate(vm.id);
    expect(
      (
        await box.app.inject({
          method: 'DELETE',
          url: `/api/v1/images/${image.id}`,
          headers: as(admin),
        })
      ).statusCode,
    ).toBe(204);
    expect(await readdir(imageDir)).toEqual([]);
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

  it('removes imports a restart interrupted, tells the administrators, and sweeps their files', async () => {
    await mkdir(join(imageDir, '.incoming-abc'), { recursive: true });
    await writeFile(join(imageDir, '.incoming-abc', 'disk.qcow2'), 'partial');
    await box.services.store.update((document) => {
      document.images.push({
        id: 'abc',
        name: 'half',
        kind: 'disk',
        status: 'importing',
        error: null,
        sizeBytes: 7,
        virtualBytes: null,
        sha256: {},
        cmdline: null,
        createdAt: new Date().toISOString(),
        createdBy: admin.userId,
      });
    });
    await box.services.images.recover();
    expect(await images()).toEqual([]);
    expect((await failure('abc')).data).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/interrupted/),
    });
    expect(await readdir(imageDir)).toEqual([]);
  });
  it("keeps a disk's virtual size, and reads it at start for a disk stored without one", async () => {
    const path = join(files, 'big.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '3G']);
    const image = await settled(
      (await importImage({ kind: 'disk', name: 'big', path })).json<ImageBody>().id,
    );
    expect(image).toMatchObject({ status: 'ready', virtualBytes: 3 * 1024 ** 3 });
    // As a store of an older version holds it (the migration leaves null): the start-up check reads it.
    await box.services.store.update((document) => {
      document.images.find((stored) => stored.id === image.id)!.virtualBytes = null;
    });
    await box.services.images.recheck();
    expect((await images()).find((stored) => stored.id === image.id)).toMatchObject({
      status: 'ready',
      virtualBytes: 3 * 1024 ** 3,
    });
  });

  it('refuses a run, and its pre-flight, whose disk is smaller than its base image with DISK_TOO_SMALL, on the test driver, creating no run', async () => {
    const put = (path: string, content: object) =>
      box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'm' },
      });
    await put('/s', { kind: 'project' });
    await put('/s/web', {
      kind: 'image',
      nativeImages: { libvirt: { imageId: 'base' } },
      resources: { vcpu: 1, memoryMiB: 128, diskGiB: 2 },
    });
    await put('/s/pair', { kind: 'deployment', nodes: [{ name: 'front', image: '/s/web' }] });
    // Published while no image named base exists yet; it is imported afterwards.
    const published = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/publish',
      headers: as(admin),
      payload: {
        id: 'small-disk',
        module: '/s/pair',
        title: 'Small',
        summary: 'A small disk',
        description: '',
        categories: [],
        form: [],
        clouds: {},
      },
    });
    expect(published.statusCode, published.body).toBe(201);
    const path = join(files, 'x.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '3G']);
    expect(
      (
        await settled(
          (await importImage({ kind: 'disk', name: 'base', path })).json<ImageBody>().id,
        )
      ).status,
    ).toBe('ready');

    const refusal = {
      code: 'DISK_TOO_SMALL',
      message: expect.stringContaining('give the image module at least diskGiB: 3'),
      details: {
        module: '/s/web@1',
        image: 'base',
        diskGiB: 2,
        baseBytes: 3 * 1024 ** 3,
        neededGiB: 3,
      },
    };
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(admin),
      payload: { module: '/s/pair' },
    });
    expect(created.statusCode).toBe(422);
    expect(created.json().error).toMatchObject(refusal);
    const preflight = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/small-disk/preflight',
      headers: as(admin),
      payload: {},
    });
    expect(preflight.statusCode).toBe(422);
    expect(preflight.json().error).toMatchObject(refusal);
    const deployed = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/small-disk/deploy',
      headers: as(admin),
      payload: { parameters: {} },
    });
    expect(deployed.json().error).toMatchObject({ code: 'DISK_TOO_SMALL' });
    expect(box.services.store.data.runs).toEqual([]);

    // A disk that holds the image runs.
    await put('/s/web', {
      kind: 'image',
      nativeImages: { libvirt: { imageId: 'base' } },
      resources: { vcpu: 1, memoryMiB: 128, diskGiB: 3 },
    });
    expect(
      (
        await box.app.inject({
          method: 'POST',
          url: '/api/v1/runs',
          headers: as(admin),
          payload: { module: '/s/pair' },
        })
      ).statusCode,
    ).toBe(201);
  });
});

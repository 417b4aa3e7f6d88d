import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useImageStoreBox, type ImageBody } from '../fixtures/image-store-box.ts';

/**
 * A disk's virtual size, kept and read at start, and a run whose disk is smaller than its base
 * image refused with DISK_TOO_SMALL. On the box of test/fixtures/image-store-box.ts.
 */
describe("the image store: a disk's size", () => {
  let box: TestAppliance;
  let admin: Client;
  let files: string;
  const { importImage, images, settled } = useImageStoreBox(
    (parts) => ({ box, admin, files } = parts),
  );

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

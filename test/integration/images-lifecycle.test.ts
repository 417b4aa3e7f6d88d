import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useImageStoreBox, type ImageBody } from '../fixtures/image-store-box.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

/**
 * What happens to stored images: one a VM uses is kept until the VM is gone, and imports a restart
 * interrupted are removed. On the box of test/fixtures/image-store-box.ts.
 */
describe('the image store: keeping and removing', () => {
  let box: TestAppliance;
  let admin: Client;
  let imageDir: string;
  const { qcow2, importImage, images, settled, failure } = useImageStoreBox(
    (parts) => ({ box, admin, imageDir } = parts),
  );

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
});

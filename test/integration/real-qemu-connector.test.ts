import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { domainsNamed, realQemu, removeDomains, uniquePrefix } from '../fixtures/real-qemu.ts';
import { listen } from '../fixtures/sse.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

/**
 * The libvirt connector on the real thing: the box's libvirt daemon, QEMU under TCG, the tiny
 * guest built by build/tiny-guest.sh and imported as a built-in image, the supervised `virsh
 * event` stream, and an SSE client on a loopback port.
 */
describe('real QEMU guests through the libvirt connector', () => {
  const { uri, imagesDir } = realQemu();
  const prefix = uniquePrefix('conn');
  let box: TestAppliance;
  let admin: Client;
  let url: string;
  let files: string;

  beforeAll(async () => {
    files = await tempDir('bivouac-qemu-');
    box = await makeAppliance({
      libvirtUri: uri,
      vmDir: join(files, 'vms'),
      imageDir: join(files, 'images'),
      reconciler: { idlePollMs: 600_000, watchedPollMs: 600_000 },
    });
    admin = await setupAdmin(box.app);
    const port = await freePort();
    await box.app.listen({ host: '127.0.0.1', port });
    url = `http://127.0.0.1:${port}`;
    await box.services.reconciler.start();
  }, 60_000);
  afterAll(async () => {
    removeDomains(uri, prefix);
    await box.services.reconciler.stop();
    await box.services.clouds.close();
    await box.close();
    await rm(files, { recursive: true, force: true });
  });

  it('imports the tiny guest, boots two guests, follows an outside destroy as an SSE event, and terminates without a trace', async () => {
    const shipped = await box.services.images.installBuiltIn(imagesDir);
    expect(shipped.failed).toEqual([]);
    const tiny = box.services.images.find('tiny');
    expect(tiny).toMatchObject({ status: 'ready', kind: 'kernel' });
    // A second pass finds the same build and imports nothing.
    expect((await box.services.images.installBuiltIn(imagesDir)).installed).toEqual([]);
    await expect
      .poll(() => box.services.reconciler.tracking(), { timeout: 10_000 })
      .toEqual({ box: 'push' });

    const token = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: as(admin),
        payload: { name: 'sse' },
      })
    ).json<{ token: string }>().token;
    const stream = listen(`${url}/api/v1/events`, { authorization: `Bearer ${token}` });
    try {
      await stream.waitFor(() => stream.status === 200);
      const image = box.services.images.bootImage('tiny');
      const [one, two] = await Promise.all(
        ['a', 'b'].map((name) =>
          box.services.vms.launch(
            'box',
            vmSpec(`${prefix}${name}`, {
              owner: admin.userId,
              image,
              accelerator: 'auto',
              context: { 'bivouac.url': 'http://10.0.2.2:9' },
            }),
            null,
            tiny!.id,
          ),
        ),
      );
      expect([one!.state, two!.state]).toEqual(['running', 'running']);
      for (const vm of [one!, two!]) {
        await stream.waitFor(
          () =>
            stream.events.some(
              (event) =>
                event.type === 'vm.state' &&
                event.subject.id === vm.id &&
                event.data.state === 'running',
            ),
          5000,
        );
      }
      expect(domainsNamed(uri, prefix).sort()).toEqual([`${prefix}a`, `${prefix}b`]);

      // The guests really run: the tiny guest's init reports on the serial console, which the
      // box keeps, and its agent reads the context given as a fw_cfg file.
      const vmFolder = join(files, 'vms');
      for (const vm of [one!, two!]) {
        const log = join(vmFolder, vm.nativeId!, 'console.log');
        await expect
          .poll(() => readFile(log, 'utf8').catch(() => ''), { timeout: 60_000, interval: 250 })
          .toMatch(/appliance http:\/\/10\.0\.2\.2:9/);
      }

      execFileSync('virsh', ['-c', uri, 'destroy', one!.nativeId!], { stdio: 'ignore' });
      await stream.waitFor(
        () =>
          stream.events.some(
            (event) =>
              event.type === 'vm.state' &&
              event.subject.id === one!.id &&
              event.data.state === 'stopped',
          ),
        5000,
      );
      expect(box.services.vms.get(one!.id).state).toBe('stopped');

      await box.services.vms.terminate(two!.id);
      await box.services.vms.terminate(one!.id);
      expect(domainsNamed(uri, prefix)).toEqual([]);
      expect(await readdir(vmFolder)).toEqual([]); // no overlay, seed or console log left
      expect(box.services.vms.get(two!.id)).toMatchObject({
        state: 'gone',
        goneReason: 'terminated',
      });
    } finally {
      await stream.close();
    }
  }, 120_000);
});

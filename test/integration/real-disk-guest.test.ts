import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { buildDiskGuest, domainsNamed, realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'real disk guest password';

type Api = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

/** Waits until the run is in one of `states`; its log is in the failure message. */
async function waitForState(
  api: Api,
  id: string,
  states: string[],
  timeoutMs = 300_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await api('GET', `/runs/${id}`)).body!;
    if (states.includes(run.state as string)) return run;
    if (Date.now() > deadline) {
      const log = (await api('GET', `/runs/${id}/log`)).body;
      const console = (await api('GET', `/runs/${id}/console/guest.1`)).body as {
        text?: string;
      } | null;
      throw new Error(
        `run ${id} is ${String(run.state)}, not ${states.join('/')}; log: ${JSON.stringify(log)}\nconsole:\n${console?.text ?? ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The `<disk>` elements of a live domain's XML: device, source file, bus target. */
function disksOf(uri: string, name: string): { device: string; source: string; target: string }[] {
  const xml = execFileSync('virsh', ['-c', uri, 'dumpxml', name], { encoding: 'utf8' });
  return [...xml.matchAll(/<disk [^>]*device='(\w+)'[^>]*>([\s\S]*?)<\/disk>/g)].map(
    ([, device, body]) => ({
      device: device!,
      source: /<source file='([^']+)'/.exec(body!)?.[1] ?? '',
      target: /<target dev='(\w+)'/.exec(body!)?.[1] ?? '',
    }),
  );
}

/**
 * A VM launched from a qcow2 disk image on real QEMU, the way an operator does it: the image
 * imported by path through the API, a deployment whose node uses it, a run to Ready, then
 * terminated. The disk guest (build/disk-guest.sh) boots from its own disk and gets the agent
 * and its context only from the NoCloud seed, so Ready shows the overlay, the seed and the disk
 * XML working together; the checks after terminating show none of them is left.
 */
describe('real disk-image guest: qcow2 overlay, NoCloud seed, disk XML', () => {
  const { uri, imagesDir } = realQemu();
  let diskDir: string;
  let dataDir: string;
  let appliance: ApplianceProcess;
  let api: Api;
  const runIds: string[] = [];

  beforeAll(async () => {
    diskDir = buildDiskGuest(imagesDir);
    dataDir = await tempDir('bivouac-disk-');
    // The built disk's folder stands for the USB stick an administrator imports from.
    appliance = await startAppliance(
      dataDir,
      {
        BIVOUAC_LIBVIRT_URI: uri,
        BIVOUAC_ADMIN_PASSWORD: password,
        BIVOUAC_IMPORT_DIRS: `${diskDir}:${tmpdir()}`,
        BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
      },
      90_000,
    );
    api = await adminApi(() => appliance.url, password);
  }, 120_000);
  afterAll(async () => {
    await appliance?.stop();
    for (const id of runIds) removeDomains(uri, `bvc-${id.slice(0, 12)}`);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** Imports a qcow2 file by path, with its checksum, and waits until it is ready; its id. */
  const importDisk = async (name: string, path: string): Promise<string> => {
    const sha256 = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    const imported = await api('POST', '/images/import', { kind: 'disk', name, path, sha256 });
    expect(imported.status, JSON.stringify(imported.body)).toBe(202);
    const imageId = imported.body!.id as string;
    await expect
      .poll(
        async () =>
          ((await api('GET', '/images')).body as unknown as { id: string; status: string }[]).find(
            (image) => image.id === imageId,
          )?.status,
        { timeout: 120_000, interval: 250 },
      )
      .toBe('ready');
    return imageId;
  };

  const saveModules = async (modules: [string, unknown][]): Promise<void> => {
    for (const [path, content] of modules) {
      const saved = await api('PUT', `/modules?path=${path}`, { content, message: 'disk guest' });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    }
  };

  /** The run ended, and nothing of its VM is left: domain, folder (overlay, seed), reservation. */
  const expectNothingLeft = async (vm: string): Promise<void> => {
    await expect.poll(() => domainsNamed(uri, vm), { timeout: 30_000 }).toEqual([]);
    expect(await readdir(join(dataDir, 'vms'))).toEqual([]);
    const capacity = (await api('GET', '/capacity')).body as {
      box: Record<string, { used: number; reserved: number }>;
    };
    expect(capacity.box.vms).toMatchObject({ used: 0, reserved: 0 });
  };

  it('imports the disk image, deploys a node from it with a NoCloud seed to Ready, and terminating leaves no domain, overlay, seed or reservation', async () => {
    // Import through the API, by path, with the checksum an administrator would give.
    const imageId = await importDisk('disk-guest', join(diskDir, 'disk.qcow2'));
    const baseImage = join(dataDir, 'images', imageId, 'disk.qcow2');

    await saveModules([
      ['/d', { kind: 'project' }],
      [
        '/d/disk',
        {
          kind: 'image',
          nativeImages: { libvirt: { imageId: 'disk-guest' } },
          resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
          recipes: { deploy: 'echo "deploy on $(hostname)"' },
        },
      ],
      ['/d/app', { kind: 'deployment', nodes: [{ name: 'guest', image: '/d/disk' }] }],
    ]);

    const created = await api('POST', '/runs', { module: '/d/app' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body!.id as string;
    runIds.push(id);
    const vm = `bvc-${id.slice(0, 12)}-guest-1`;
    const ready = await waitForState(api, id, ['Ready', 'Aborted']);
    const console = (await api('GET', `/runs/${id}/console/guest.1`)).body as {
      text?: string;
    } | null;
    expect(ready.state, `${JSON.stringify(ready.abort)}\nconsole:\n${console?.text ?? ''}`).toBe(
      'Ready',
    );

    // The domain boots from an overlay on the imported image, with the seed as a CD-ROM.
    const folder = join(dataDir, 'vms', vm);
    const overlay = join(folder, 'disk.qcow2');
    const seed = join(folder, 'seed.iso');
    expect(disksOf(uri, vm)).toEqual([
      { device: 'disk', source: overlay, target: 'vda' },
      { device: 'cdrom', source: seed, target: 'hdc' },
    ]);
    const info = JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '--output=json', overlay], { encoding: 'utf8' }),
    ) as { format: string; 'backing-filename': string; 'virtual-size': number };
    expect(info).toMatchObject({
      format: 'qcow2',
      'backing-filename': baseImage,
      'virtual-size': 1024 ** 3,
    });
    // What the guest writes (a cloud image's copy of the agent token among it) is the box's
    // alone, like the seed: the overlay's path is on QEMU's command line for anyone to see.
    expect({
      overlay: (await stat(overlay)).mode & 0o777,
      seed: (await stat(seed)).mode & 0o777,
    }).toEqual({ overlay: 0o600, seed: 0o600 });

    // The guest found the seed, took its host name from meta-data and its agent from user-data.
    expect(console?.text).toMatch(/bivouac-disk: seed on \/dev\/\w+: instance bvc-/);
    expect(console?.text).toContain('bivouac-disk: wrote /etc/bivouac/context');
    const log = JSON.stringify((await api('GET', `/runs/${id}/log`)).body);
    expect(log).toContain(`deploy on ${vm}`);

    // Terminate: the domain, its folder (overlay, seed, console log) and the reservation go.
    expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
    expect((await waitForState(api, id, ['Done', 'Aborted'])).state).toBe('Done');
    await expectNothingLeft(vm);
    // The base image is intact and no VM holds it any more: it can be deleted.
    expect(
      JSON.parse(
        execFileSync('qemu-img', ['check', '--output=json', baseImage], { encoding: 'utf8' }),
      ),
    ).toMatchObject({ 'check-errors': 0 });
    expect((await api('DELETE', `/images/${imageId}`)).status).toBe(204);
  }, 480_000);

  it('refuses a run whose VM disk is smaller than its base image (qemu-img would cut it short) before anything is made', async () => {
    // The same guest on a disk of 3 GiB (virtual size; it stays a few MiB), as Ubuntu's cloud
    // images are larger than the 2 GiB modules get by default.
    const folder = await tempDir('bivouac-disk-3g-');
    try {
      const large = join(folder, 'disk-3g.qcow2');
      await copyFile(join(diskDir, 'disk.qcow2'), large);
      execFileSync('qemu-img', ['resize', '-q', large, '3G']);
      await importDisk('disk-guest-3g', large);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    await saveModules([
      ['/d', { kind: 'project' }],
      [
        '/d/large',
        {
          kind: 'image',
          nativeImages: { libvirt: { imageId: 'disk-guest-3g' } },
          resources: { vcpu: 1, memoryMiB: 128, diskGiB: 2 },
          recipes: { deploy: 'echo deployed' },
        },
      ],
    ]);
    // The image store read the virtual size at import: the run is refused when asked for.
    const runsBefore = (await api('GET', '/runs')).body!.total;
    const created = await api('POST', '/runs', { module: '/d/large' });
    expect(created.status, JSON.stringify(created.body)).toBe(422);
    expect(created.body!.error).toMatchObject({
      code: 'DISK_TOO_SMALL',
      message: expect.stringContaining(
        "The disk of /d/large@1 (base image disk-guest-3g), 2 GiB, is smaller than its base image's 3.0 GiB; give the image module at least diskGiB: 3.",
      ),
      details: { module: '/d/large@1', image: 'disk-guest-3g', diskGiB: 2, neededGiB: 3 },
    });
    expect((await api('GET', '/runs')).body!.total).toBe(runsBefore);
  }, 300_000);
});

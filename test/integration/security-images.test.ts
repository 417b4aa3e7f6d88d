import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  newSigningKey,
  writeBundle,
  type BundleEntry,
} from '../../appliance/src/catalog/bundle.ts';
import { canAccess, type Subject } from '../../appliance/src/domain/access.ts';
import { isEventOf, type DeliveredEvent } from '../../appliance/src/domain/events.ts';
import { limits } from '../../appliance/src/domain/limits.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

/**
 * Images are data, never a path to the host (H1), imports by path read only regular files inside
 * removable media or the import folders (H1-path), and image names and import events keep to
 * what is allowed (L9).
 */

const publisher = newSigningKey();
const initrd = gzipSync(Buffer.from('070701 tiny'));

function qemuImg(...args: string[]): void {
  // A LUKS header times its key derivation by the thread's CPU time, which on a loaded machine
  // can read as zero ("Unable to get accurate CPU usage"): that is tried again, anything else fails.
  for (let attempt = 1; ; attempt += 1) {
    try {
      execFileSync('qemu-img', ['create', '-q', ...args], { stdio: 'pipe' });
      return;
    } catch (error) {
      if (
        attempt >= 5 ||
        !String((error as { stderr?: Buffer }).stderr).includes('accurate CPU usage')
      )
        throw error;
    }
  }
}

type Evil = 'backing' | 'dataFile' | 'encrypted' | 'huge' | 'safe';

/** One of the evil images of the review (or a safe one), made in `dir` the way an attacker would. */
function evilImage(dir: string, kind: Evil): string {
  const path = join(dir, `${kind}.qcow2`);
  const made: Record<Evil, string[]> = {
    backing: ['-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', '-u', path, '1M'],
    dataFile: ['-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, path, '1M'],
    encrypted: [
      '--object',
      'secret,id=sec0,data=secret',
      '-f',
      'qcow2',
      '-o',
      'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10',
      path,
      '1M',
    ],
    huge: ['-f', 'qcow2', path, '2T'],
    safe: ['-f', 'qcow2', path, '1M'],
  };
  qemuImg(...made[kind]);
  return path;
}

/** A signed bundle of one image module on the image `name`, which it carries as a disk (unless `disk` is null). */
async function bundleWithDisk(dir: string, disk: string | null, name = 'evil'): Promise<string> {
  const modules = [
    {
      path: '/apps/evil-app/vm',
      content: {
        kind: 'image',
        nativeImages: { libvirt: { imageId: name.replace(/[^A-Za-z0-9_-]/g, '-') } },
        recipes: { deploy: 'true' },
      },
    },
  ];
  const manifest = {
    format: 1,
    app: {
      id: 'evil-app',
      version: '1.0.0',
      title: 'Evil',
      summary: 'Reads the host',
      categories: ['demo'],
      publisher: 'Bivouac',
    },
    deploy: { module: '/apps/evil-app/vm', form: [], clouds: {} },
    images: disk === null ? [] : [{ name, kind: 'disk', disk: 'images/evil/disk.qcow2' }],
  };
  const entries: BundleEntry[] = [
    { path: 'manifest.yaml', data: Buffer.from(stringify(manifest)) },
    {
      path: 'modules.yaml',
      data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
    },
    ...(disk === null ? [] : [{ path: 'images/evil/disk.qcow2', data: await readFile(disk) }]),
  ];
  const path = join(dir, `${name.replace(/[^A-Za-z0-9_-]/g, '-')}.bvc`);
  await writeBundle(createWriteStream(path), entries, publisher);
  return path;
}

describe('the image store takes data only', () => {
  let box: TestAppliance;
  let admin: Client;
  let operator: Client;
  let usb: string;
  let imageDir: string;
  let heard: DeliveredEvent[];

  beforeEach(async () => {
    heard = [];
    usb = await tempDir('bivouac-usb-');
    imageDir = join(await tempDir('bivouac-images-'), 'images');
    box = await makeAppliance({
      imageDir,
      appsDir: join(await tempDir('bivouac-apps-'), 'apps'),
      importDirs: [usb],
    });
    box.services.events.subscribe((event) => heard.push(event));
    await box.services.images.recover();
    await box.services.apps.recover();
    admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'operator password 1', role: 'operator' },
    });
    operator = await login(box.app, 'olga', 'operator password 1');
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(admin),
      payload: { name: 'Bivouac', publicKey: publisher.publicKey, appIds: ['evil-app'] },
    });
  });
  afterEach(async () => {
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  const upload = (file: Buffer, name: string, query = '') =>
    box.app.inject({
      method: 'POST',
      url: `/api/v1/images/upload?name=${encodeURIComponent(name)}${query}`,
      headers: { ...as(admin), 'content-type': 'application/octet-stream' },
      payload: file,
    });
  const importImage = (payload: object) =>
    box.app.inject({ method: 'POST', url: '/api/v1/images/import', headers: as(admin), payload });
  const importApp = (path: string) =>
    box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/import',
      headers: as(admin),
      payload: { path },
    });
  const listImages = async (client: Client) =>
    (await box.app.inject({ method: 'GET', url: '/api/v1/images', headers: as(client) })).json<
      { name: string; status: string }[]
    >();
  const subjectOf = (client: Client, role: Subject['role']): Subject => ({
    userId: client.userId,
    role,
  });
  /** What the operator's event stream would carry (the stream filters with canAccess). */
  const operatorHears = () =>
    heard.filter((event) => canAccess(subjectOf(operator, 'operator'), event.access, 'view'));
  const failureOf = async (id: string) => {
    await expect
      .poll(() => heard.some((event) => event.type === 'image.failed' && event.subject.id === id), {
        timeout: 30_000,
      })
      .toBe(true);
    return heard.find(
      (event): event is DeliveredEvent<'image.failed'> =>
        isEventOf(event, 'image.failed') && event.subject.id === id,
    )!;
  };
  const nothingStored = async () => {
    expect(await listImages(admin)).toEqual([]);
    expect((await readdir(imageDir)).filter((entry) => !entry.startsWith('.'))).toEqual([]);
    expect(await readdir(imageDir)).toEqual([]);
  };

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

  it('L9: image names with spaces or ".." are refused at the edge, saying what is allowed', async () => {
    const safe = evilImage(usb, 'safe');
    for (const name of ['a b', '..', 'x..y', '../etc', '.hidden', 'tab\tname']) {
      const uploaded = await upload(await readFile(safe), name);
      expect(uploaded.statusCode, name).toBe(400);
      expect(uploaded.json(), name).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: {
            fields: [
              {
                field: 'query.name',
                message: expect.stringMatching(/letters, digits.*without "\.\."/),
              },
            ],
          },
        },
      });
      const imported = await importImage({ kind: 'disk', name, path: safe });
      expect(imported.json(), name).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: { fields: [expect.objectContaining({ field: 'body.name' })] },
        },
      });
    }
    // A bundle's image names follow the same rule.
    const spaced = await importApp(await bundleWithDisk(usb, safe, 'debian 12'));
    expect(spaced.json()).toMatchObject({
      error: {
        code: 'BAD_BUNDLE',
        details: { fields: [expect.objectContaining({ field: 'manifest.images.0.name' })] },
      },
    });
    await nothingStored();
    expect((await upload(await readFile(safe), 'debian-12.1_generic')).statusCode).toBe(201);
  });

  it("L9: administrators' import paths and failures never reach other users' event streams", async () => {
    await writeFile(join(usb, 'broken.bvc'), 'not a bundle');
    await importApp(join(usb, 'broken.bvc'));
    const started = await importImage({
      kind: 'disk',
      name: 'wrong',
      path: evilImage(usb, 'safe'),
      sha256: '0'.repeat(64),
    });
    await failureOf(started.json<{ id: string }>().id);
    const adminHeard = heard
      .filter((event) => JSON.stringify(event.data).includes(usb))
      .map((event) => event.type);
    expect(adminHeard).toEqual(
      expect.arrayContaining(['app.importing', 'app.import.failed', 'image.failed']),
    );
    expect(operatorHears().filter((event) => JSON.stringify(event).includes(usb))).toEqual([]);
    expect(
      operatorHears().filter(
        (event) => event.type.startsWith('image.') || event.type.startsWith('app.import'),
      ),
    ).toEqual([]);
  });
});

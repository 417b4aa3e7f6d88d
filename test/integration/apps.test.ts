import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { defaultBox } from '../../appliance/src/app.ts';
import { isEventOf, type DeliveredEvent } from '../../appliance/src/domain/events.ts';
import {
  newSigningKey,
  writeBundle,
  type BundleEntry,
  type SigningKey,
} from '../../appliance/src/catalog/bundle.ts';
import {
  as,
  countCommits,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

const publisher = newSigningKey();
const kernel = Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(2048, 1)]);
const initrd = gzipSync(Buffer.from('070701 tiny'));
const icon = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>');

/** A "Hello web" bundle: one tiny VM serving a page; `recipe` varies between versions. */
function helloEntries(
  version: string,
  recipe: string,
  manifestChanges: Record<string, unknown> = {},
): BundleEntry[] {
  const modules = [
    { path: '/apps/hello-web', content: { kind: 'project' } },
    {
      path: '/apps/hello-web/web',
      content: {
        kind: 'image',
        nativeImages: { libvirt: { imageId: 'tiny' } },
        inputs: [
          { name: 'greeting', type: 'string', default: 'Hello' },
          { name: 'password', type: 'password' },
        ],
        recipes: { deploy: recipe },
        ports: [{ name: 'http', port: 80, protocol: 'http' }],
      },
    },
    {
      path: '/apps/hello-web/app',
      content: {
        kind: 'deployment',
        nodes: [
          { name: 'web', image: '/apps/hello-web/web', mappings: { password: { value: 'unset' } } },
        ],
      },
    },
  ];
  const manifest = {
    format: 1,
    app: {
      id: 'hello-web',
      version,
      title: 'Hello web',
      summary: 'One tiny VM serving a page',
      categories: ['demo'],
      publisher: 'Bivouac',
      icon: 'icon.svg',
    },
    deploy: {
      module: '/apps/hello-web/app',
      form: [
        { key: 'web:greeting', label: 'Greeting', type: 'string', default: 'Hello' },
        { key: 'web:password', label: 'Password', type: 'password', generate: true },
      ],
      clouds: { web: 'any' },
    },
    images: [
      { name: 'tiny', kind: 'kernel', kernel: 'images/tiny/kernel', initrd: 'images/tiny/initrd' },
    ],
    ...manifestChanges,
  };
  return [
    { path: 'manifest.yaml', data: Buffer.from(stringify(manifest)) },
    {
      path: 'modules.yaml',
      data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
    },
    { path: 'icon.svg', data: icon },
    { path: 'images/tiny/kernel', data: kernel },
    { path: 'images/tiny/initrd', data: initrd },
  ];
}

async function bundle(
  entries: BundleEntry[],
  signer: SigningKey | null = publisher,
): Promise<string> {
  const path = join(await tempDir('bivouac-usb-'), 'hello.bvc');
  await writeBundle(createWriteStream(path), entries, signer);
  return path;
}

describe('the app store', () => {
  let box: TestAppliance;
  let admin: Client;
  /**
   * What the disk formula offers VMs (host/box-capacity.ts, tested on a real file system by
   * test/unit/box-capacity.test.ts): a stand-in here, so a test can fill the box's disk.
   */
  let diskGiB = defaultBox.diskGiB;

  async function newBox(): Promise<{ box: TestAppliance; admin: Client }> {
    diskGiB = defaultBox.diskGiB;
    const made = await makeAppliance({
      appsDir: join(await tempDir('bivouac-apps-'), 'apps'),
      box: () => ({ ...defaultBox, diskGiB }),
    });
    await made.services.apps.recover();
    const client = await setupAdmin(made.app);
    await made.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(client),
      payload: { name: 'Bivouac', publicKey: publisher.publicKey, appIds: ['hello-*'] },
    });
    return { box: made, admin: client };
  }

  beforeEach(async () => {
    ({ box, admin } = await newBox());
  });
  afterEach(async () => {
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  const importPath = (path: string, target = box, client = admin) =>
    target.app.inject({
      method: 'POST',
      url: '/api/v1/apps/import',
      headers: as(client),
      payload: { path },
    });
  const nothingInstalled = () => {
    expect(box.services.store.data.apps).toEqual([]);
    expect(box.services.store.data.modules).toEqual([]);
    expect(box.services.images.list()).toEqual([]);
  };

  it('installs a signed bundle, lists it with its icon, pre-flights and deploys it', async () => {
    const heard: DeliveredEvent[] = [];
    box.services.events.subscribe((event) => heard.push(event));
    const installed = await importPath(await bundle(helloEntries('1.0.0', 'serve v1')));
    expect(installed.statusCode).toBe(201);
    const progressEvents = heard.filter((event) => isEventOf(event, 'app.import.progress'));
    // Progress is transient: delivered live, never numbered or kept for replay.
    expect(progressEvents.every((event) => event.id === undefined)).toBe(true);
    const replayable = box.services.events.since(0);
    expect(replayable?.map((event) => event.type)).toContain('app.installed');
    expect(replayable!.map((event) => event.type)).not.toContain('app.import.progress');
    const progress = progressEvents.map((event) => event.data);
    // Every event of the install names its source, its end too.
    const source = progressEvents[0]!.data.source;
    expect(
      heard
        .filter((event) => isEventOf(event, 'app.importing', 'app.import.done'))
        .map((event) => [event.type, event.data.source]),
    ).toEqual([
      ['app.importing', source],
      ['app.import.done', source],
    ]);
    // Everyone hears that the app is there, without the import's source.
    expect(
      heard.filter((event) => event.type === 'app.installed').map((event) => event.data),
    ).toEqual([{ app: 'hello-web', version: '1.0.0', signed: true }]);
    expect(progress.at(-1)).toMatchObject({ staged: true, receivedBytes: expect.any(Number) });
    expect(progress.at(-1)!.receivedBytes).toBe(progress.at(-1)!.totalBytes);
    expect(installed.json()).toMatchObject({
      app: { id: 'hello-web', version: '1.0.0', signed: true },
      warning: null,
    });

    const listed = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })
    ).json<{ id: string; iconUrl: string }[]>();
    expect(listed.map((app) => app.id)).toEqual(['hello-web']);
    const iconResponse = await box.app.inject({
      method: 'GET',
      url: listed[0]!.iconUrl,
      headers: as(admin),
    });
    expect(iconResponse.headers['content-type']).toBe('image/svg+xml');
    expect(iconResponse.rawPayload.equals(icon)).toBe(true);
    const detail = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps/hello-web', headers: as(admin) })
    ).json<{ module: string; form: { key: string }[] }>();
    expect(detail.module).toBe('/apps/hello-web/app@1');
    expect(detail.form.map((field) => field.key)).toEqual(['web:greeting', 'web:password']);

    const preflight = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/hello-web/preflight',
        headers: as(admin),
        payload: {},
      })
    ).json<{ ok: boolean; checks: { check: string; ok: boolean; message: string }[] }>();
    expect(preflight.ok).toBe(true);
    expect(preflight.checks).toContainEqual({
      check: 'capacity.vms',
      ok: true,
      message: '1 VMs needed; 8 left',
      details: expect.any(Object),
    });
    expect(preflight.checks).toContainEqual(
      expect.objectContaining({ check: 'image.web', ok: true }),
    );
    expect(preflight.checks).toContainEqual(
      expect.objectContaining({
        check: 'capacity.diskGiB',
        ok: true,
        details: expect.objectContaining({ needed: 2 }),
      }),
    );

    // Planned once: the pre-flight resolves the module, and the run is made from that plan.
    const reached = vi.spyOn(box.services.modules, 'reached');
    const deployed = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/hello-web/deploy',
      headers: as(admin),
      payload: { parameters: { 'web:greeting': 'Hi' } },
    });
    expect(deployed.statusCode).toBe(201);
    expect(reached.mock.calls.map(([, reference]) => reference)).toEqual(['/apps/hello-web/app@1']);
    reached.mockRestore();
    expect(deployed.json()).toMatchObject({
      module: { resolved: '/apps/hello-web/app@1' },
      tags: ['app:hello-web'],
      params: { 'web.1:greeting': 'Hi', 'web.1:password': '********' },
    });
    const secret = box.services.store.data.runs[0]!.params['web.1:password']!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{24}$/); // generated, not the module's placeholder
  });

  it('commits a deploy once: the reservation, the run and its jobs in one durable update', async () => {
    await importPath(await bundle(helloEntries('1.0.0', 'serve v1')));
    // The job queue is not started in this box, so nothing but the deploy itself writes.
    const { store } = box.services;
    const commits = countCommits(store);
    const before = structuredClone(store.data);
    const deployed = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/hello-web/deploy',
      headers: as(admin),
      payload: { parameters: {} },
    });
    expect(deployed.statusCode).toBe(201);
    expect(commits()).toBe(1);
    const id = deployed.json<{ id: string }>().id;
    const run = store.data.runs.find((candidate) => candidate.id === id)!;
    expect(run.state).toBe('Provisioning');
    expect(store.data.reservations).toHaveLength(before.reservations.length + 1);
    expect(store.data.reservations.at(-1)).toMatchObject({
      id: run.reservationId,
      purpose: `run:${id}`,
    });
    expect(store.data.jobs.filter((job) => job.runId === id)).toEqual([
      expect.objectContaining({ kind: 'launch', target: 'web.1' }),
    ]);

    // A refusal inside the commit (over quota: the runs API has no pre-flight to stop it
    // earlier) leaves nothing behind.
    await box.services.store.update((document) => {
      document.quotas[admin.userId] = { vms: 1, vcpu: 64, memoryMiB: 65536, diskGiB: 1000 };
    });
    const refused = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(admin),
      payload: { module: '/apps/hello-web/app', keepRunning: 'always' },
    });
    expect(refused.json()).toMatchObject({ error: { code: 'QUOTA_EXCEEDED' } });
    expect(store.data.runs).toHaveLength(1);
    expect(store.data.reservations).toHaveLength(before.reservations.length + 1);
    expect(store.data.jobs).toHaveLength(1);
  });

  it('exports an app as a signed bundle that another box installs', async () => {
    await importPath(await bundle(helloEntries('1.0.0', 'serve v1')));
    const exported = await box.app.inject({
      method: 'GET',
      url: '/api/v1/apps/hello-web/export?images=true',
      headers: as(admin),
    });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-disposition']).toBe(
      'attachment; filename="hello-web-1.0.0.bvc"',
    );
    const file = join(await tempDir(), 'export.bvc');
    await writeFile(file, exported.rawPayload);

    const other = await newBox();
    try {
      const refused = await importPath(file, other.box, other.admin);
      expect(refused.json()).toMatchObject({ error: { code: 'UNTRUSTED_BUNDLE' } }); // signed by the first box
      const boxKey = (
        await box.app.inject({ method: 'GET', url: '/api/v1/publishers', headers: as(admin) })
      )
        .json<{ name: string; publicKey: string }[]>()
        .find((key) => key.name === 'This box')!;
      // The export names the box that signed it as its publisher, by the name it trusts its own key under.
      await other.box.app.inject({
        method: 'POST',
        url: '/api/v1/publishers',
        headers: as(other.admin),
        payload: { name: 'Field box 1', publicKey: boxKey.publicKey, appIds: ['*'] },
      });
      expect((await importPath(file, other.box, other.admin)).json()).toMatchObject({
        error: {
          code: 'PUBLISHER_MISMATCH',
          details: { claimed: 'This box', trustedAs: 'Field box 1' },
        },
      });
      await other.box.app.inject({
        method: 'POST',
        url: '/api/v1/publishers',
        headers: as(other.admin),
        payload: { name: 'This box', publicKey: boxKey.publicKey, appIds: ['*'] },
      });
      const accepted = await importPath(file, other.box, other.admin);
      expect(accepted.json()).toMatchObject({
        app: { id: 'hello-web', version: '1.0.0', signed: true },
      });
      const recipe = (
        await other.box.app.inject({
          method: 'GET',
          url: '/api/v1/modules/version?ref=/apps/hello-web/web',
          headers: as(other.admin),
        })
      ).json<{ content: { recipes: { deploy: string } } }>();
      expect(recipe.content.recipes.deploy).toBe('serve v1');
      expect(other.box.services.images.list().map((image) => image.name)).toEqual(['tiny']);
    } finally {
      await other.box.services.clouds.close();
      await other.box.close();
    }
  });

  it("H4-export: an app whose modules are past version 1 exports without this box's @N, installs on a fresh box and deploys the versions it shipped", async () => {
    // 1.1.0 changes the image: here the app is /apps/hello-web/app@2, deploying /apps/hello-web/web@2.
    expect((await importPath(await bundle(helloEntries('1.0.0', 'serve v1')))).statusCode).toBe(
      201,
    );
    expect((await importPath(await bundle(helloEntries('1.1.0', 'serve v2')))).statusCode).toBe(
      201,
    );
    const here = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/modules/version?ref=/apps/hello-web/app',
        headers: as(admin),
      })
    ).json<{ version: number; content: { nodes: { image: string }[] } }>();
    expect(here).toMatchObject({
      version: 2,
      content: { nodes: [{ image: '/apps/hello-web/web@2' }] },
    });
    const exported = await box.app.inject({
      method: 'GET',
      url: '/api/v1/apps/hello-web/export?images=true',
      headers: as(admin),
    });
    expect(exported.statusCode).toBe(200);
    const file = join(await tempDir(), 'export.bvc');
    await writeFile(file, exported.rawPayload);

    const other = await newBox();
    try {
      const boxKey = (
        await box.app.inject({ method: 'GET', url: '/api/v1/publishers', headers: as(admin) })
      )
        .json<{ name: string; publicKey: string }[]>()
        .find((key) => key.name === 'This box')!;
      await other.box.app.inject({
        method: 'POST',
        url: '/api/v1/publishers',
        headers: as(other.admin),
        payload: { name: 'This box', publicKey: boxKey.publicKey, appIds: ['*'] },
      });
      const accepted = await importPath(file, other.box, other.admin);
      expect(accepted.statusCode).toBe(201);
      expect(accepted.json()).toMatchObject({
        app: { id: 'hello-web', version: '1.1.0', signed: true },
      });
      // There, the shipped modules are versions 1, the deployment pinned to the image it shipped with.
      const there = (
        await other.box.app.inject({
          method: 'GET',
          url: '/api/v1/modules/version?ref=/apps/hello-web/app',
          headers: as(other.admin),
        })
      ).json<{ version: number; content: { nodes: { image: string }[] } }>();
      expect(there).toMatchObject({
        version: 1,
        content: { nodes: [{ image: '/apps/hello-web/web@1' }] },
      });
      const preflight = (
        await other.box.app.inject({
          method: 'POST',
          url: '/api/v1/apps/hello-web/preflight',
          headers: as(other.admin),
          payload: {},
        })
      ).json<{ ok: boolean }>();
      expect(preflight.ok).toBe(true);
      const deployed = await other.box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/hello-web/deploy',
        headers: as(other.admin),
        payload: {},
      });
      expect(deployed.statusCode).toBe(201);
      expect(deployed.json()).toMatchObject({ module: { resolved: '/apps/hello-web/app@1' } });
      const run = other.box.services.store.data.runs.find(
        (candidate) => candidate.id === deployed.json<{ id: string }>().id,
      )!;
      expect(run.nodes.map((node) => [node.name, node.image, node.recipes.deploy])).toEqual([
        ['web', ['/apps/hello-web/web@1'], 'serve v2'],
      ]);
    } finally {
      await other.box.services.runs.stop();
      await other.box.services.clouds.close();
      await other.box.close();
    }
  });

  it('H4-export: an app published from a module outside its folder is refused with APP_NOT_EXPORTABLE before anything is sent', async () => {
    expect((await importPath(await bundle(helloEntries('1.0.0', 'serve v1')))).statusCode).toBe(
      201,
    );
    const saved = await box.app.inject({
      method: 'POST',
      url: '/api/v1/modules/import',
      headers: as(admin),
      payload: {
        yaml:
          stringify({ path: '/team', content: { kind: 'project' } }) +
          '---\n' +
          stringify({
            path: '/team/site',
            content: {
              kind: 'deployment',
              nodes: [
                {
                  name: 'web',
                  image: '/apps/hello-web/web',
                  mappings: { password: { value: 'x' } },
                },
              ],
            },
          }),
        message: 'site',
      },
    });
    expect(saved.statusCode).toBeLessThan(300);
    const published = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/publish',
      headers: as(admin),
      payload: {
        id: 'team-site',
        module: '/team/site',
        title: 'Site',
        summary: 'A site',
        description: '',
        categories: [],
        form: [],
        clouds: {},
      },
    });
    expect(published.statusCode).toBe(201);
    const exported = await box.app.inject({
      method: 'GET',
      url: '/api/v1/apps/team-site/export',
      headers: as(admin),
    });
    expect(exported.statusCode).toBe(422);
    expect(exported.json()).toMatchObject({
      error: {
        code: 'APP_NOT_EXPORTABLE',
        message: expect.stringContaining(
          "/team/site, the module the app deploys, is outside the app's folder /apps/team-site",
        ),
      },
    });
  });

  it('refuses untrusted, malformed and inconsistent bundles, installing nothing', async () => {
    const stranger = newSigningKey();
    const untrusted = await importPath(await bundle(helloEntries('1.0.0', 'x'), stranger));
    expect(untrusted.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'UNTRUSTED_BUNDLE',
      message: expect.stringContaining(`signed by ${stranger.keyId}`),
    });
    nothingInstalled();

    const unsigned = await importPath(await bundle(helloEntries('1.0.0', 'x'), null));
    expect(unsigned.json()).toMatchObject({
      error: { code: 'UNTRUSTED_BUNDLE', message: expect.stringContaining('no SIGNATURE') },
    });

    const missingFile = await importPath(
      await bundle(helloEntries('1.0.0', 'x').filter((entry) => entry.path !== 'icon.svg')),
    );
    expect(missingFile.json()).toMatchObject({
      error: {
        code: 'BAD_BUNDLE',
        message: 'manifest.yaml names icon.svg, which is not in the bundle.',
      },
    });
    const badManifest = await importPath(await bundle(helloEntries('one', 'x')));
    expect(badManifest.json()).toMatchObject({
      error: { code: 'BAD_BUNDLE', details: { fields: [{ field: 'manifest.app.version' }] } },
    });
    const badModule = helloEntries('1.0.0', 'x');
    // Inside the app's own folder, but the deployment's node names an image the bundle lacks.
    badModule[1] = {
      path: 'modules.yaml',
      data: Buffer.from(
        stringify({ path: '/apps/hello-web', content: { kind: 'project' } }) +
          '---\n' +
          stringify({
            path: '/apps/hello-web/app',
            content: {
              kind: 'deployment',
              nodes: [{ name: 'web', image: '/apps/hello-web/nowhere' }],
            },
          }),
      ),
    };
    const brokenModule = await importPath(await bundle(badModule));
    expect(brokenModule.statusCode).toBe(400);
    expect(brokenModule.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: {
          fields: [
            { field: 'content.nodes.0.image', message: 'No module /apps/hello-web/nowhere.' },
          ],
        },
      },
    });
    expect((await importPath('/nonexistent/app.bvc')).json()).toMatchObject({
      error: { code: 'IMPORT_PATH_REFUSED' },
    });
    nothingInstalled();
    expect(
      (await readdir(join(box.services.apps['options'].directory))).filter((entry) =>
        entry.startsWith('.staging'),
      ),
    ).toEqual([]);

    await box.app.inject({
      method: 'PUT',
      url: '/api/v1/settings/bundles',
      headers: as(admin),
      payload: { allowUnsigned: true },
    });
    const allowed = await importPath(await bundle(helloEntries('1.0.0', 'x'), null));
    expect(allowed.json()).toMatchObject({
      app: { signed: false },
      warning: 'Installed unsigned: the bundle has no SIGNATURE.',
    });
  });

  it('installs a newer version beside the old one, and two imports at once', async () => {
    const [first, again] = await Promise.all([
      importPath(await bundle(helloEntries('1.0.0', 'serve v1'))),
      importPath(await bundle(helloEntries('1.0.0', 'serve v1'))),
    ]);
    expect([first.statusCode, again.statusCode].sort()).toEqual([201, 422]);
    const run = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/hello-web/deploy',
      headers: as(admin),
      payload: {},
    });
    expect(run.json()).toMatchObject({ module: { resolved: '/apps/hello-web/app@1' } });

    expect((await importPath(await bundle(helloEntries('1.1.0', 'serve v2')))).statusCode).toBe(
      201,
    );
    const detail = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps/hello-web', headers: as(admin) })
    ).json<{ version: string; module: string; versions: unknown[] }>();
    expect(detail).toMatchObject({ version: '1.1.0', module: '/apps/hello-web/app@2' });
    expect(detail.versions).toHaveLength(2);
    const history = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/modules/history?path=/apps/hello-web/web',
        headers: as(admin),
      })
    ).json<unknown[]>();
    expect(history).toHaveLength(2); // the version the first run uses is kept
    const v2 = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/modules/version?ref=/apps/hello-web/app@2',
        headers: as(admin),
      })
    ).json<{ content: { nodes: { image: string }[] } }>();
    expect(v2.content.nodes[0]!.image).toBe('/apps/hello-web/web@2'); // pinned to what the bundle shipped
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/modules/history?path=/apps',
          headers: as(admin),
        })
      ).json(),
    ).toHaveLength(1); // unchanged: not saved again
  });

  it('pre-flight says what is missing, and deploy refuses', async () => {
    await importPath(
      await bundle(
        helloEntries('1.0.0', 'x', {
          images: [],
          deploy: {
            module: '/apps/hello-web/app',
            requires: [{ image: 'tiny', hint: 'import the tiny guest image' }],
          },
        }),
      ),
    );
    const preflight = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/hello-web/preflight',
        headers: as(admin),
        payload: { multiplicity: { web: 9 } },
      })
    ).json<{ ok: boolean; checks: { check: string; ok: boolean; message: string }[] }>();
    expect(preflight.ok).toBe(false);
    expect(preflight.checks.filter((check) => !check.ok).map((check) => check.message)).toEqual([
      "Not enough VMs: the box's capacity allows 8, 0 are already held, and 9 were asked (8 left).",
      'base image tiny is not in the image store: import the tiny guest image',
    ]);
    diskGiB = 1; // a nearly full box
    const full = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/hello-web/preflight',
        headers: as(admin),
        payload: {},
      })
    ).json<{ checks: { check: string; ok: boolean; message: string }[] }>();
    expect(full.checks.find((check) => check.check === 'capacity.diskGiB')).toMatchObject({
      ok: false,
      message:
        "Not enough GiB of disk: the box's capacity allows 1, 0 are already held, and 2 were asked (1 left).",
    });
    const refused = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/hello-web/deploy',
      headers: as(admin),
      payload: {},
    });
    expect(refused.json()).toMatchObject({
      error: {
        code: 'PREFLIGHT_FAILED',
        details: {
          checks: [
            expect.objectContaining({ check: 'capacity.diskGiB' }),
            expect.objectContaining({ check: 'image.web' }),
          ],
        },
      },
    });
    expect(box.services.store.data.runs).toEqual([]);
  });

  it('publishes a module version as an app, and unpublishes it', async () => {
    await importPath(await bundle(helloEntries('1.0.0', 'x')));
    const publish = (payload: Record<string, unknown>) =>
      box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/publish',
        headers: as(admin),
        payload: { id: 'my-web', title: 'My web', summary: 'Mine', ...payload },
      });
    // The image alone: its password has no default and nothing maps it, so the form must ask for it.
    const incomplete = await publish({ module: '/apps/hello-web/web@1' });
    expect(incomplete.statusCode).toBe(422);
    expect(incomplete.json()).toMatchObject({
      error: {
        code: 'FORM_INCOMPLETE',
        message: expect.stringContaining('must ask for web:password'),
        details: { inputs: ['web:password'] },
      },
    });
    const onlyGreeting = await publish({
      module: '/apps/hello-web/web@1',
      form: [{ key: 'web:greeting', label: 'Greeting', type: 'string' }],
    });
    expect(onlyGreeting.json()).toMatchObject({
      error: { code: 'FORM_INCOMPLETE', details: { inputs: ['web:password'] } },
    });
    // A field that sets the node's instances does not give the input a value.
    const sizedOnly = await publish({
      module: '/apps/hello-web/web@1',
      form: [{ key: 'web:password', label: 'Instances', type: 'number', sets: 'multiplicity' }],
    });
    expect(sizedOnly.json()).toMatchObject({ error: { code: 'FORM_INCOMPLETE' } });
    expect(box.services.store.data.apps.map((app) => app.id)).toEqual(['hello-web']);
    // A form that does not fit the version is refused, each problem where it is.
    const misfit = await publish({
      id: 'my-app',
      module: '/apps/hello-web/app@1',
      form: [
        { key: 'web:colour', label: 'Colour', type: 'string' },
        { key: 'db:count', label: 'Databases', type: 'number', sets: 'multiplicity' },
        {
          key: 'web:count',
          label: 'Webs',
          type: 'string',
          sets: 'multiplicity',
          min: 3,
          max: 2,
          default: '9',
        },
        {
          key: 'web:count',
          label: 'Again',
          type: 'number',
          sets: 'multiplicity',
          max: 4,
          default: '9',
        },
        { key: 'web:size', label: 'Size', type: 'number', sets: 'multiplicity', generate: true },
      ],
      clouds: { cache: 'box' },
    });
    expect(misfit.statusCode).toBe(400);
    expect(misfit.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(
          'The deploy form does not fit /apps/hello-web/app@1: form.0.key web:colour is not an input',
        ),
        details: {
          fields: [
            {
              field: 'form.0.key',
              message:
                "web:colour is not an input this version's form can ask for (an input wired to another node's output is filled in by the run)",
            },
            { field: 'form.1.key', message: 'db is not a node of this version; its nodes: web' },
            { field: 'form.2.type', message: 'an instance count is a number' },
            { field: 'form.2.max', message: 'must be at least the minimum (3)' },
            { field: 'form.3.key', message: 'web:count is asked twice' },
            { field: 'form.3.default', message: 'must be a whole number from 0 to 4' },
            { field: 'form.4.key', message: "web's instances are already asked by another field" },
            {
              field: 'form.4.generate',
              message: 'an instance count is typed, neither generated nor chosen from options',
            },
            {
              field: 'clouds.cache',
              message: 'cache is not a node of this version; its nodes: web',
            },
          ],
        },
      },
    });
    expect(box.services.store.data.apps.map((app) => app.id)).toEqual(['hello-web']);
    // The deployment maps the password to a value: nothing has to be asked. The operator may
    // choose how many web instances (1 to 3), on the box only.
    const sized = await publish({
      id: 'my-app',
      module: '/apps/hello-web/app@1',
      form: [
        {
          key: 'web:count',
          label: 'Web servers',
          type: 'number',
          sets: 'multiplicity',
          min: 1,
          max: 3,
          default: '2',
        },
      ],
      clouds: { web: 'box' },
    });
    expect(sized.statusCode).toBe(201);
    expect(
      (
        await box.app.inject({ method: 'GET', url: '/api/v1/apps/my-app', headers: as(admin) })
      ).json(),
    ).toMatchObject({
      form: [{ key: 'web:count', sets: 'multiplicity', min: 1, max: 3, default: '2' }],
      clouds: { web: 'box' },
    });
    // The bounds hold at deploy whatever the client: the count field, or the node's multiplicity.
    const runsBefore = box.services.store.data.runs.length;
    for (const [payload, field] of [
      [{ parameters: { 'web:count': '60' } }, 'parameters.web:count'],
      [{ parameters: { 'web:count': 'two' } }, 'parameters.web:count'],
      [{ multiplicity: { web: 0 } }, 'multiplicity.web'],
    ] as const) {
      const refused = await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/my-app/deploy',
        headers: as(admin),
        payload,
      });
      expect(refused.json()).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: { fields: [{ field, message: 'must be a whole number from 1 to 3' }] },
        },
      });
    }
    const preflightRefused = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/my-app/preflight',
      headers: as(admin),
      payload: { multiplicity: { web: 4 } },
    });
    expect(preflightRefused.json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'multiplicity.web' }] } },
    });
    expect(box.services.store.data.runs.length).toBe(runsBefore);
    const published = await publish({
      module: '/apps/hello-web/web@1',
      form: [{ key: 'web:password', label: 'Password', type: 'password', generate: true }],
    });
    expect(published.json()).toMatchObject({
      id: 'my-web',
      version: '1.0.0',
      module: '/apps/hello-web/web@1',
      published: true,
    });
    const list = async () =>
      (await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })).json<
        { id: string; module: string }[]
      >();
    const ids = async () => (await list()).map((app) => app.id);
    expect(await ids()).toEqual(['hello-web', 'my-app', 'my-web']);
    // The list names the module version each app deploys, so the module's page finds its apps.
    expect((await list()).find((app) => app.id === 'my-web')?.module).toBe('/apps/hello-web/web@1');
    await box.app.inject({
      method: 'PUT',
      url: '/api/v1/apps/my-web/published',
      headers: as(admin),
      payload: { published: false },
    });
    expect(await ids()).toEqual(['hello-web', 'my-app']);
    // An administrator may still list it, to publish it again; others see the store as it is.
    const withUnpublished = (client: Client) =>
      box.app.inject({
        method: 'GET',
        url: '/api/v1/apps?include=unpublished',
        headers: as(client),
      });
    const everything = (await withUnpublished(admin)).json<
      { id: string; published: boolean; module: string }[]
    >();
    expect(everything.map((app) => [app.id, app.published])).toEqual([
      ['hello-web', true],
      ['my-app', true],
      ['my-web', false],
    ]);
    expect(everything.find((app) => app.id === 'my-web')?.module).toBe('/apps/hello-web/web@1');
    const operator = await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'operator password 1', role: 'operator' },
    });
    expect(operator.statusCode).toBe(201);
    const olga = await login(box.app, 'olga', 'operator password 1');
    expect((await withUnpublished(olga)).json<{ id: string }[]>().map((app) => app.id)).toEqual([
      'hello-web',
      'my-app',
    ]);
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/apps?include=everything',
          headers: as(admin),
        })
      ).json(),
    ).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect(
      (await box.app.inject({ method: 'GET', url: '/api/v1/apps/my-web', headers: as(admin) }))
        .statusCode,
    ).toBe(404);
    expect(
      await readFile(
        join(box.services.apps['options'].directory, 'hello-web', '1.0.0', 'icon.svg'),
      ),
    ).toEqual(icon);
  });
});

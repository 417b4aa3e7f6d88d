import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import { isEventOf, type DeliveredEvent } from '../../appliance/src/domain/events.ts';
import { useAppStoreBox } from '../fixtures/app-store-box.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { bundle, helloEntries, icon } from '../fixtures/hello-web-bundle.ts';

/**
 * Installing apps from bundles: a signed bundle listed with its icon, pre-flighted and deployed;
 * untrusted, malformed and inconsistent bundles refused whole; a newer version beside the old. The
 * "Hello web" bundle (test/fixtures/hello-web-bundle.ts) on a box of its own
 * (test/fixtures/app-store-box.ts).
 */
describe('the app store: installing', () => {
  let box: TestAppliance;
  let admin: Client;
  const { importPath, nothingInstalled } = useAppStoreBox((parts) => ({ box, admin } = parts));

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
});

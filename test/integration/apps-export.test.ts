import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { useAppStoreBox } from '../fixtures/app-store-box.ts';
import { as, tempDir, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { bundle, helloEntries } from '../fixtures/hello-web-bundle.ts';

/**
 * Exporting an app as a signed bundle another box installs, and what may not be exported
 * (H4-export). The "Hello web" bundle (test/fixtures/hello-web-bundle.ts) on a box of its own
 * (test/fixtures/app-store-box.ts).
 */
describe('the app store: exporting', () => {
  let box: TestAppliance;
  let admin: Client;
  const { newBox, importPath } = useAppStoreBox((parts) => ({ box, admin } = parts));

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
});

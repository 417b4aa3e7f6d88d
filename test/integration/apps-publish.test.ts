import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useAppStoreBox } from '../fixtures/app-store-box.ts';
import { as, login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { bundle, helloEntries, icon } from '../fixtures/hello-web-bundle.ts';

/**
 * Publishing a module version as an app with its deploy form, and unpublishing it. The "Hello web"
 * bundle (test/fixtures/hello-web-bundle.ts) on a box of its own (test/fixtures/app-store-box.ts).
 */
describe('the app store: publishing', () => {
  let box: TestAppliance;
  let admin: Client;
  const { importPath } = useAppStoreBox((parts) => ({ box, admin } = parts));

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

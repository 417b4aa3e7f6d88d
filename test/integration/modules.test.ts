import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

const db = {
  kind: 'image',
  description: 'A key-value store',
  nativeImages: { libvirt: { imageId: 'tiny' } },
  recipes: { deploy: 'start-db' },
  inputs: [{ name: 'password', type: 'password' }],
  outputs: [{ name: 'port' }, { name: 'ready' }],
};
const web = {
  kind: 'image',
  parent: '/examples/base',
  recipes: { deploy: 'start-web' },
  inputs: [
    { name: 'db_port', type: 'number' },
    { name: 'title', type: 'string', default: 'Hello' },
  ],
  outputs: [{ name: 'url.service' }],
  ports: [{ name: 'http', port: 80, protocol: 'http' }],
};
const base = {
  kind: 'image',
  nativeImages: { libvirt: { imageId: 'tiny' } },
  resources: { vcpu: 1, memoryMiB: 128 },
  recipes: { preInstall: 'echo base' },
};
const app = {
  kind: 'deployment',
  nodes: [
    { name: 'db', image: '/examples/db', mappings: { password: { value: 'generated' } } },
    {
      name: 'web',
      image: '/examples/web@1',
      multiplicity: 2,
      maxFailures: 1,
      mappings: { db_port: { output: 'db:port' } },
    },
  ],
};

interface View {
  path: string;
  version: number;
  latestVersion: number;
  content: Record<string, unknown>;
}

describe('modules API', () => {
  let box: TestAppliance;
  let admin: Client;

  beforeEach(async () => {
    box = await makeAppliance();
    admin = await setupAdmin(box.app);
  });
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  const save = (path: string, content: object, message = 'save', client = admin) =>
    box.app.inject({
      method: 'PUT',
      url: `/api/v1/modules?path=${encodeURIComponent(path)}`,
      headers: as(client),
      payload: { content, message },
    });
  const get = (query: string, client = admin) =>
    box.app.inject({ method: 'GET', url: `/api/v1/modules/${query}`, headers: as(client) });

  async function seed(): Promise<void> {
    for (const [path, content] of [
      ['/examples', { kind: 'project' }],
      ['/examples/base', base],
      ['/examples/db', db],
      ['/examples/web', web],
      ['/examples/app', app],
    ] as const) {
      const response = await save(path, content, `add ${path}`);
      expect(response.statusCode, `${path}: ${response.body}`).toBe(200);
    }
  }

  it('versions every save and reads latest, pinned, history and diff', async () => {
    await seed();
    const second = await save(
      '/examples/web',
      { ...web, recipes: { deploy: 'start-web --fast' } },
      'faster start',
    );
    expect(second.json()).toMatchObject({
      path: '/examples/web',
      version: 2,
      latestVersion: 2,
      message: 'faster start',
    });

    expect((await get('version?ref=/examples/web')).json<View>().content.recipes).toEqual({
      deploy: 'start-web --fast',
    });
    expect((await get('version?ref=/examples/web@1')).json<View>()).toMatchObject({
      version: 1,
      latestVersion: 2,
      content: { recipes: { deploy: 'start-web' } },
    });
    expect((await get('version?ref=/examples/web@9')).json()).toMatchObject({
      error: { code: 'NOT_FOUND', message: '/examples/web has no version 9; it has 1 to 2.' },
    });

    const history = (await get('history?path=/examples/web')).json<
      { version: number; message: string; author: string }[]
    >();
    expect(history.map((entry) => [entry.version, entry.message, entry.author])).toEqual([
      [1, 'add /examples/web', admin.userId],
      [2, 'faster start', admin.userId],
    ]);
    const diff = (await get('diff?path=/examples/web&from=1&to=2')).json<{ diff: string }>().diff;
    expect(diff).toContain('-  deploy: start-web\n+  deploy: start-web --fast');

    const tree = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/modules?under=/examples',
        headers: as(admin),
      })
    ).json<{ path: string; kind: string; latestVersion: number }[]>();
    expect(tree.map((module) => `${module.path} ${module.kind} ${module.latestVersion}`)).toEqual([
      '/examples project 1',
      '/examples/app deployment 1',
      '/examples/base image 1',
      '/examples/db image 1',
      '/examples/web image 2',
    ]);
  });

  it('refuses a deployment with an unmapped input or a missing output, saving nothing', async () => {
    await seed();
    const broken = {
      ...app,
      nodes: [
        app.nodes[0],
        { ...app.nodes[1], mappings: {} },
        { name: 'cache', image: '/examples/web', mappings: { db_port: { output: 'db:socket' } } },
      ],
    };
    const refused = await save('/examples/app', broken);
    expect(refused.statusCode).toBe(400);
    const fields = refused.json<{
      error: { details: { fields: { field: string; message: string }[] } };
    }>().error.details.fields;
    expect(fields).toEqual([
      {
        field: 'content.nodes.1.mappings.db_port',
        message: 'input db_port of web has no default and must be mapped to an output or a value',
      },
      {
        field: 'content.nodes.2.mappings.db_port',
        message: 'node db has no output socket; it has: port, ready',
      },
    ]);
    expect((await get('history?path=/examples/app')).json()).toHaveLength(1);
  });

  it('refuses inheritance cycles, kind changes and modules outside a project', async () => {
    await seed();
    await save('/examples/a', { kind: 'image', parent: '/examples/b' }).then((response) =>
      expect(response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } }),
    );
    await save('/examples/b', { kind: 'image' });
    await save('/examples/a', { kind: 'image', parent: '/examples/b' });
    const cycle = await save('/examples/b', { kind: 'image', parent: '/examples/a' });
    expect(cycle.json<{ error: { message: string } }>().error.message).toContain(
      'Image inheritance loops: /examples/b@2 → /examples/a@1 → /examples/b',
    );
    expect(
      (await save('/examples/web', { kind: 'project' })).json<{ error: { message: string } }>()
        .error.message,
    ).toContain("a module's kind never changes");
    expect(
      (await save('/examples/db/child', { kind: 'image' })).json<{ error: { message: string } }>()
        .error.message,
    ).toBe('/examples/db is not a project; create the project first.');
    expect((await save('/nowhere/x', { kind: 'image' })).statusCode).toBe(400);
    expect((await save('/Bad Path', { kind: 'project' })).json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { fields: [expect.objectContaining({ field: 'query.path' })] },
      },
    });
  });

  it("gives each module an owner and an ACL, new modules starting with their project's", async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'operator' },
    });
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vic', password: 'long enough password', role: 'viewer' },
    });
    const olga = await login(box.app, 'olga', 'long enough password');
    const vic = await login(box.app, 'vic', 'long enough password');
    await save('/private', { kind: 'project' });
    await save('/private/db', db);
    expect((await get('version?ref=/private/db', olga)).statusCode).toBe(404); // not even its existence
    // Saving over it is answered as saving into a missing project would be.
    expect((await save('/private/db', db, 'x', olga)).json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        message: '/private is not a project; create the project first.',
      },
    });

    await save('/shared', { kind: 'project' });
    const acl = await box.app.inject({
      method: 'PUT',
      url: '/api/v1/modules/acl?path=/shared',
      headers: as(admin),
      payload: {
        acl: [
          { role: 'operator', allow: ['view', 'edit'] },
          { everyone: true, allow: ['view'] },
        ],
      },
    });
    expect(acl.statusCode).toBe(200);
    expect((await save('/shared/db', db, 'by olga', olga)).statusCode).toBe(200);
    expect((await get('version?ref=/shared/db', vic)).json()).toMatchObject({
      owner: olga.userId,
      acl: [{ role: 'operator' }, { everyone: true }],
    });
    expect((await save('/shared/db', db, 'by vic', vic)).json()).toMatchObject({
      error: { code: 'FORBIDDEN' },
    });
    expect((await save('/vic', { kind: 'project' }, 'x', vic)).json()).toMatchObject({
      error: { code: 'FORBIDDEN' },
    });
    const olgaTree = (
      await box.app.inject({ method: 'GET', url: '/api/v1/modules', headers: as(olga) })
    ).json<{ path: string }[]>();
    expect(olgaTree.map((module) => module.path)).toEqual(['/shared', '/shared/db']);
  });

  it('refuses a sharing change made from rules that changed meanwhile, and announces each change', async () => {
    await save('/team', { kind: 'project' });
    const setAcl = (payload: Record<string, unknown>) =>
      box.app.inject({
        method: 'PUT',
        url: '/api/v1/modules/acl?path=/team',
        headers: as(admin),
        payload,
      });
    const viewers = { role: 'viewer', allow: ['view'] };
    const operators = { role: 'operator', allow: ['view', 'run'] };
    const before = box.services.events.since(0)!.length;
    expect((await setAcl({ acl: [viewers], expected: [] })).statusCode).toBe(200);
    expect(
      box.services.events
        .since(0)!
        .slice(before)
        .map((event) => [event.type, event.subject]),
    ).toEqual([['module.shared', { kind: 'module', id: '/team' }]]);
    // A second screen still holds the empty rules: its change would drop the viewers' rule.
    const stale = await setAcl({ acl: [operators], expected: [] });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({
      error: { code: 'ACL_CHANGED', details: { acl: [viewers] } },
    });
    expect((await get('version?ref=/team')).json()).toMatchObject({ acl: [viewers] });
    // Made from the current rules (in any order of actions), it goes through.
    const current = await setAcl({
      acl: [viewers, operators],
      expected: [{ allow: ['view'], role: 'viewer' }],
    });
    expect(current.json()).toMatchObject({ acl: [viewers, operators] });
    // Without expected rules the change is taken as it is, as before.
    expect((await setAcl({ acl: [] })).json()).toMatchObject({ acl: [] });
  });

  it('exports a subtree as YAML and imports it back as new versions, all or nothing', async () => {
    await seed();
    const exported = (await get('export?path=/examples')).json<{ yaml: string }>().yaml;
    expect(exported).toContain('path: /examples/app');
    expect(exported.split('---\n')).toHaveLength(5);

    const imported = await box.app.inject({
      method: 'POST',
      url: '/api/v1/modules/import',
      headers: as(admin),
      payload: { yaml: exported, message: 'restored' },
    });
    expect(imported.statusCode).toBe(201);
    expect(imported.json<View[]>().map((module) => `${module.path}@${module.version}`)).toEqual([
      '/examples@2',
      '/examples/app@2',
      '/examples/base@2',
      '/examples/db@2',
      '/examples/web@2',
    ]);

    const copy = exported
      .replaceAll('/examples', '/copy')
      .replace('multiplicity: 2', 'multiplicity: "two"');
    const refused = await box.app.inject({
      method: 'POST',
      url: '/api/v1/modules/import',
      headers: as(admin),
      payload: { yaml: copy, message: 'copy' },
    });
    expect(refused.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const unmapped = exported
      .replaceAll('/examples', '/copy')
      .replace(/mappings:\n\s+db_port:\n\s+output: db:port/, 'mappings: {}');
    expect(
      (
        await box.app.inject({
          method: 'POST',
          url: '/api/v1/modules/import',
          headers: as(admin),
          payload: { yaml: unmapped, message: 'copy' },
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/modules?under=/copy',
          headers: as(admin),
        })
      ).json(),
    ).toEqual([]);

    const bomb = 'a: &a [x, x, x]\nb: &b [*a, *a, *a]\npath: /bomb\ncontent: {kind: project}\n';
    expect(
      (
        await box.app.inject({
          method: 'POST',
          url: '/api/v1/modules/import',
          headers: as(admin),
          payload: { yaml: bomb, message: 'x' },
        })
      ).statusCode,
    ).toBe(400);
  });
});

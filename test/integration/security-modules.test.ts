import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

interface ErrorAnswer {
  error: { code: string; message: string; details: Record<string, unknown> };
}

interface RunAnswer {
  id: string;
  state: string;
  params: Record<string, string>;
  module: { resolved: string };
  nodes: { name: string; image: string[] }[];
  instances: { name: string; state: string }[];
}

/** Alice's private image: a licence key and a password as input defaults, a private recipe. */
const privateDb = {
  kind: 'image',
  inputs: [
    { name: 'license', type: 'string', default: 'ACME-LICENSE-4711' },
    { name: 'pw', type: 'password', default: 'hunter2' },
  ],
  outputs: [{ name: 'dsn' }],
  recipes: { deploy: 'echo private' },
};

/**
 * Tenancy, pinned versions, bounded diffs, secret defaults and YAML depth on the module tree:
 * H3, M14, H7, M5 (module views) and L9 (YAML) of the security review, through the public API.
 */
describe('module references and views hold tenant boundaries', () => {
  let box: TestAppliance;
  let admin: Client;
  let alice: Client;
  let mallory: Client;
  let imageId: string;

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 50 } });
    admin = await setupAdmin(box.app);
    for (const username of ['alice', 'mallory', 'bob']) {
      const made = await box.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: as(admin),
        payload: { username, password: `${username}-password-1`, role: 'operator' },
      });
      expect(made.statusCode, made.body).toBe(201);
    }
    alice = await login(box.app, 'alice', 'alice-password-1');
    mallory = await login(box.app, 'mallory', 'mallory-password-1');
    imageId = await importPlaceholderImage(box.services, admin.userId);
    await saveOk('/alice', { kind: 'project' }, alice);
    await saveOk('/alice/db', { ...privateDb, nativeImages: { libvirt: { imageId } } }, alice);
    await saveOk('/mallory', { kind: 'project' }, mallory);
  });
  afterEach(async () => {
    await box.services.reconciler.stop();
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  const save = (path: string, content: object, client = admin, message = 'save') =>
    box.app.inject({
      method: 'PUT',
      url: `/api/v1/modules?path=${encodeURIComponent(path)}`,
      headers: as(client),
      payload: { content, message },
    });
  async function saveOk(path: string, content: object, client = admin): Promise<void> {
    const saved = await save(path, content, client);
    expect(saved.statusCode, `${path}: ${saved.body}`).toBe(200);
  }
  const get = (url: string, client = admin) =>
    box.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: as(client) });
  const post = (url: string, payload: object, client = admin) =>
    box.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: as(client), payload });
  const share = (path: string, acl: object[], client: Client) =>
    box.app.inject({
      method: 'PUT',
      url: `/api/v1/modules/acl?path=${encodeURIComponent(path)}`,
      headers: as(client),
      payload: { acl },
    });
  /** The answer with the probed path replaced, to compare a hidden module's answer with a missing one's. */
  const shape = (body: string, path: string) => body.split(path).join('<path>');

  describe('H3', () => {
    it('H3: a parent one may not view is reported exactly like a missing one, and the image is not saved', async () => {
      expect((await get('/modules/version?ref=/alice/db', mallory)).statusCode).toBe(404);
      const hidden = await save('/mallory/steal', { kind: 'image', parent: '/alice/db' }, mallory);
      const missing = await save(
        '/mallory/steal',
        { kind: 'image', parent: '/alice/nothing' },
        mallory,
      );
      expect(hidden.statusCode).toBe(400);
      expect(hidden.json<ErrorAnswer>().error).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: '/mallory/steal cannot be saved: content.parent: No module /alice/db..',
      });
      expect(shape(hidden.body, '/alice/db')).toBe(shape(missing.body, '/alice/nothing'));
      expect((await get('/modules/version?ref=/mallory/steal', mallory)).statusCode).toBe(404);
      // Saving under a hidden project answers as under a missing one.
      const underHidden = await save('/alice/mine', { kind: 'project' }, mallory);
      const underMissing = await save('/nobody/mine', { kind: 'project' }, mallory);
      expect(underHidden.json<ErrorAnswer>().error.code).toBe('VALIDATION_FAILED');
      expect(shape(underHidden.body, '/alice')).toBe(shape(underMissing.body, '/nobody'));
    });

    it('H3: validation errors do not list the inputs or outputs of a deployment node image one may not view', async () => {
      const probe = (image: string) => ({
        kind: 'deployment',
        nodes: [
          { name: 'x', image, mappings: { nope: { value: '1' } } },
          { name: 'y', image, mappings: { dsn: { output: 'x:nope' } } },
        ],
      });
      const hidden = await save('/mallory/probe', probe('/alice/db'), mallory);
      const missing = await save('/mallory/probe', probe('/alice/nothing'), mallory);
      expect(hidden.json<ErrorAnswer>().error.code).toBe('VALIDATION_FAILED');
      expect(hidden.body).not.toMatch(/license|pw|dsn.*it has|ACME/);
      expect(shape(hidden.body, '/alice/db')).toBe(shape(missing.body, '/alice/nothing'));
    });

    it('H3: a run resolves node images and parent chains as the deployer: hidden is missing, view without run is refused', async () => {
      // Saved while Alice shared the image with view only; deploying needs run on it too.
      await share('/alice/db', [{ user: mallory.userId, allow: ['view'] }], alice);
      await saveOk('/mallory/child', { kind: 'image', parent: '/alice/db' }, mallory);
      await saveOk(
        '/mallory/pair',
        { kind: 'deployment', nodes: [{ name: 'db', image: '/alice/db' }] },
        mallory,
      );
      const viewOnly = await post('/runs', { module: '/mallory/child' }, mallory);
      expect(viewOnly.statusCode).toBe(403);
      expect(viewOnly.json<ErrorAnswer>().error).toMatchObject({
        code: 'FORBIDDEN',
        message: 'You may not run /alice/db.',
      });
      expect(
        (await post('/runs', { module: '/mallory/pair' }, mallory)).json<ErrorAnswer>().error.code,
      ).toBe('FORBIDDEN');

      // Once the share is gone the parent is missing for Mallory: no run, no defaults in its parameters.
      await share('/alice/db', [], alice);
      for (const module of ['/mallory/child', '/mallory/pair']) {
        const hidden = await post('/runs', { module }, mallory);
        expect(hidden.statusCode, hidden.body).toBe(400);
        expect(hidden.json<ErrorAnswer>().error.message).toContain('No module /alice/db.');
        expect(hidden.body).not.toContain('ACME-LICENSE-4711');
      }
      expect((await get('/runs', mallory)).json<{ total: number }>().total).toBe(0);

      // With view and run shared, the same run deploys.
      await share('/alice/db', [{ user: mallory.userId, allow: ['view', 'run'] }], alice);
      const allowed = await post('/runs', { module: '/mallory/child' }, mallory);
      expect(allowed.statusCode, allowed.body).toBe(201);
      expect(allowed.json<RunAnswer>().nodes[0]!.image).toEqual([
        '/mallory/child@1',
        '/alice/db@1',
      ]);
    });

    it('H3: an upgrade to a module reaching one the caller may not view is refused like a missing one, leaving the run as it was', async () => {
      // The same node name in every version, so only the image differs between them.
      await saveOk(
        '/mallory/own',
        { kind: 'image', nativeImages: { libvirt: { imageId } }, recipes: { deploy: 'serve' } },
        mallory,
      );
      await saveOk(
        '/mallory/v1',
        { kind: 'deployment', nodes: [{ name: 'app', image: '/mallory/own' }] },
        mallory,
      );
      await share('/alice/db', [{ user: mallory.userId, allow: ['view', 'run'] }], alice);
      await saveOk('/mallory/steal', { kind: 'image', parent: '/alice/db' }, mallory);
      await saveOk(
        '/mallory/v2',
        { kind: 'deployment', nodes: [{ name: 'app', image: '/mallory/steal' }] },
        mallory,
      );
      await saveOk(
        '/mallory/v3',
        { kind: 'deployment', nodes: [{ name: 'app', image: '/alice/db' }] },
        mallory,
      );
      await share('/alice/db', [], alice);

      await box.services.runs.start();
      const guests = new GuestStandIn(box.app, box.services);
      try {
        const id = (await post('/runs', { module: '/mallory/v1' }, mallory)).json<RunAnswer>().id;
        await box.services.runs.idle();
        const agent = await guests.agent(id, 'app.1');
        await agent.complete('Executing');
        await agent.complete('SendingReports');
        expect((await get(`/runs/${id}`, mallory)).json<RunAnswer>().state).toBe('Ready');

        for (const module of ['/mallory/v2', '/mallory/v3']) {
          const upgrade = await post(`/runs/${id}/upgrade`, { module }, mallory);
          expect(upgrade.statusCode, upgrade.body).toBe(400);
          expect(upgrade.json<ErrorAnswer>().error).toMatchObject({
            code: 'VALIDATION_FAILED',
            message: expect.stringContaining('No module /alice/db.'),
          });
          expect(upgrade.body).not.toContain('ACME-LICENSE-4711');
        }
        expect(
          (await post(`/runs/${id}/upgrade`, { module: '/alice/db' }, mallory)).statusCode,
        ).toBe(404);
        expect((await get('/runs', mallory)).json<{ total: number }>().total).toBe(1);
        expect((await get(`/runs/${id}`, mallory)).json<{ upgrade: unknown }>().upgrade).toBeNull();
      } finally {
        await guests.close();
      }
    });

    it('H3: publishing pins every module the app reaches: operators deploy it without rights on them, and later saves change nothing', async () => {
      // Alice's base is private; the admin's image inherits from it (floating) and is published.
      await saveOk('/shop', { kind: 'project' });
      await saveOk('/shop/web', {
        kind: 'image',
        parent: '/alice/db',
        recipes: { deploy: 'serve-web' },
      });
      const published = await post('/apps/publish', {
        id: 'shop-web',
        module: '/shop/web',
        title: 'Shop',
        summary: 'A shop',
        form: [],
      });
      expect(published.statusCode, published.body).toBe(201);

      // Alice changes her base after publishing: the app still deploys the version it was published with.
      await saveOk(
        '/alice/db',
        {
          ...privateDb,
          nativeImages: { libvirt: { imageId } },
          recipes: { deploy: 'echo changed' },
        },
        alice,
      );
      const bob = await login(box.app, 'bob', 'bob-password-1');
      expect((await get('/modules/version?ref=/shop/web', bob)).statusCode).toBe(404);
      const deployed = await post('/apps/shop-web/deploy', { parameters: {} }, bob);
      expect(deployed.statusCode, deployed.body).toBe(201);
      expect(deployed.json<RunAnswer>().nodes[0]!.image).toEqual(['/shop/web@1', '/alice/db@1']);

      // The app's authority covers its pins only: Bob still cannot reach the modules themselves.
      expect((await post('/runs', { module: '/shop/web@1' }, bob)).statusCode).toBe(404);
      expect((await post('/runs', { module: '/alice/db@1' }, bob)).statusCode).toBe(404);
    });
  });

  it('apps published before pinning keep deploying for operators after the upgrade, at the versions they reached then', async () => {
    await saveOk('/shop', { kind: 'project' });
    await saveOk('/shop/web', {
      kind: 'image',
      parent: '/alice/db',
      recipes: { deploy: 'serve-web' },
    });
    await share('/shop/web', [{ role: 'operator', allow: ['view', 'run'] }], admin);
    expect(
      (
        await post('/apps/publish', {
          id: 'shop-web',
          module: '/shop/web',
          title: 'Shop',
          summary: 'A shop',
          form: [],
        })
      ).statusCode,
    ).toBe(201);
    await box.services.store.flush();
    // As the old code stored it: the app pinned only the module it deploys.
    const document = JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8'));
    document.apps[0].versions[0].modules = [{ path: '/shop/web', version: 1 }];
    document.schemaVersion = 10;
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'bivouac.json'), JSON.stringify(document));
    const upgraded = await makeAppliance({ dataDir });
    try {
      const bob = await login(upgraded.app, 'bob', 'bob-password-1');
      const deployed = await upgraded.app.inject({
        method: 'POST',
        url: '/api/v1/apps/shop-web/deploy',
        headers: as(bob),
        payload: { parameters: {} },
      });
      expect(deployed.statusCode, deployed.body).toBe(201);
      expect(deployed.json<RunAnswer>().nodes[0]!.image).toEqual(['/shop/web@1', '/alice/db@1']);
    } finally {
      await upgraded.services.clouds.close();
      await upgraded.close();
    }
  });

  describe('M14', () => {
    const recipe = (content: { content: { recipes: { deploy: string } } }) =>
      content.content.recipes.deploy;

    it('M14: version numbers of a path are never reused, and pinned references find the deleted module', async () => {
      await saveOk('/p', { kind: 'project' });
      for (const word of ['one', 'two'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });
      await saveOk('/p/dep', { kind: 'deployment', nodes: [{ name: 'n', image: '/p/img@2' }] });
      expect(
        (
          await box.app.inject({
            method: 'DELETE',
            url: '/api/v1/modules?path=/p/img',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(204);
      for (const word of ['evil1', 'evil2'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });

      expect(recipe((await get('/modules/version?ref=/p/img@2')).json())).toBe('echo two');
      expect(recipe((await get('/modules/version?ref=/p/img@1')).json())).toBe('echo one');
      expect((await get('/modules/version?ref=/p/img')).json()).toMatchObject({
        version: 4,
        latestVersion: 4,
        content: { recipes: { deploy: 'echo evil2' } },
      });
      expect(
        (await get('/modules/history?path=/p/img'))
          .json<{ version: number }[]>()
          .map((entry) => entry.version),
      ).toEqual([3, 4]);
      expect((await get('/modules/version?ref=/p/img@9')).json<ErrorAnswer>().error.message).toBe(
        '/p/img has no version 9; it has 3 to 4.',
      );

      // A deployment pinned to @2 deploys the deleted module's version 2.
      const run = await post('/runs', { module: '/p/dep' });
      expect(run.statusCode, run.body).toBe(201);
      expect(run.json<RunAnswer>().nodes[0]!.image).toEqual(['/p/img@2']);
      const stored = box.services.store.data.runs.find(
        (candidate) => candidate.id === run.json<RunAnswer>().id,
      )!;
      expect(stored.nodes[0]!.recipes.deploy).toBe('echo two');
    });

    it('M14: a store that already holds a deleted and a re-created module with the same numbers is renumbered, keeping what each reference meant', async () => {
      await saveOk('/p', { kind: 'project' });
      for (const word of ['one', 'two'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });
      await saveOk('/p/early', { kind: 'deployment', nodes: [{ name: 'n', image: '/p/img@2' }] });
      await box.services.store.flush();
      const document = JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8'));

      // As the old code left it: the first module deleted, a second one at the same path numbered
      // from 1 again, and a deployment saved after it pinned to its @2.
      const img = document.modules.find((module: { path: string }) => module.path === '/p/img');
      img.deleted = true;
      const later = (second: number) =>
        new Date(Date.parse(img.versions[1].time) + second * 1000).toISOString();
      const version = (number: number, time: string, content: object) => ({
        version: number,
        author: admin.userId,
        time,
        message: 'm',
        content,
      });
      document.modules.push(
        {
          path: '/p/img',
          owner: admin.userId,
          acl: [],
          deleted: false,
          versions: [
            version(1, later(10), {
              kind: 'image',
              parent: null,
              nativeImages: {},
              recipes: { deploy: 'echo evil1' },
              inputs: [],
              outputs: [],
              ports: [],
            }),
            version(2, later(11), {
              kind: 'image',
              parent: null,
              nativeImages: {},
              recipes: { deploy: 'echo evil2' },
              inputs: [],
              outputs: [],
              ports: [],
            }),
          ],
        },
        {
          path: '/p/late',
          owner: admin.userId,
          acl: [],
          deleted: false,
          versions: [
            version(1, later(12), {
              kind: 'deployment',
              nodes: [
                {
                  name: 'n',
                  image: '/p/img@2',
                  multiplicity: 1,
                  cloud: null,
                  maxFailures: 0,
                  mappings: {},
                },
              ],
            }),
          ],
        },
      );
      document.schemaVersion = 10;
      const dataDir = await tempDir();
      await writeFile(join(dataDir, 'bivouac.json'), JSON.stringify(document));
      const upgraded = await makeAppliance({ dataDir });
      try {
        const session = await login(upgraded.app, 'admin', 'correct horse battery');
        const read = async (url: string) =>
          (
            await upgraded.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: as(session) })
          ).json();
        expect(recipe(await read('/modules/version?ref=/p/img@2'))).toBe('echo two');
        expect(recipe(await read('/modules/version?ref=/p/img@4'))).toBe('echo evil2');
        expect(
          (await read('/modules/history?path=/p/img')).map(
            (entry: { version: number }) => entry.version,
          ),
        ).toEqual([3, 4]);
        expect((await read('/modules/version?ref=/p/early')).content.nodes[0].image).toBe(
          '/p/img@2',
        );
        expect((await read('/modules/version?ref=/p/late')).content.nodes[0].image).toBe(
          '/p/img@4',
        );
      } finally {
        await upgraded.services.clouds.close();
        await upgraded.close();
      }
    });
  });

  describe('H7', () => {
    it('H7: a diff of two very different versions answers DIFF_TOO_LARGE while the box keeps answering', async () => {
      // Three recipes of 10,000 lines each, with no line in common between the two versions.
      const lines = (prefix: string, recipe: number) =>
        Array.from(
          { length: 10_000 },
          (_, index) => `${prefix}${recipe}${index.toString(36)}`,
        ).join('\n');
      const recipes = (prefix: string) => ({
        preInstall: lines(prefix, 0),
        deploy: lines(prefix, 1),
        report: lines(prefix, 2),
      });
      await saveOk('/mallory/big', { kind: 'image', recipes: recipes('a') }, mallory);
      await saveOk('/mallory/big', { kind: 'image', recipes: recipes('b') }, mallory);

      const [diff, health] = await Promise.all([
        get('/modules/diff?path=/mallory/big&from=1&to=2', mallory),
        box.app.inject({ method: 'GET', url: '/healthz' }),
      ]);
      expect(diff.statusCode).toBe(422);
      expect(diff.json<ErrorAnswer>().error).toMatchObject({
        code: 'DIFF_TOO_LARGE',
        details: { path: '/mallory/big', from: 1, to: 2 },
      });
      expect(health.statusCode).toBe(200);
      // The same lines in reverse order: nothing is added or removed overall, yet the diff would
      // be as long; jsdiff's own bounds (edits, time) end it.
      const reversed = (prefix: string, recipe: number) =>
        lines(prefix, recipe).split('\n').reverse().join('\n');
      await saveOk(
        '/mallory/big',
        {
          kind: 'image',
          recipes: {
            preInstall: reversed('b', 0),
            deploy: reversed('b', 1),
            report: reversed('b', 2),
          },
        },
        mallory,
      );
      const [reorder, stillHealthy] = await Promise.all([
        get('/modules/diff?path=/mallory/big&from=2&to=3', mallory),
        box.app.inject({ method: 'GET', url: '/healthz' }),
      ]);
      expect(reorder.json<ErrorAnswer>().error.code).toBe('DIFF_TOO_LARGE');
      expect(stillHealthy.statusCode).toBe(200);

      // A small change still diffs.
      await saveOk(
        '/mallory/big',
        { kind: 'image', recipes: { ...recipes('b'), deploy: 'short' } },
        mallory,
      );
      await saveOk(
        '/mallory/big',
        { kind: 'image', recipes: { ...recipes('b'), deploy: 'shorter' } },
        mallory,
      );
      expect(
        (await get('/modules/diff?path=/mallory/big&from=4&to=5', mallory)).json<{ diff: string }>()
          .diff,
      ).toContain('-  deploy: short\n+  deploy: shorter');
    });
  });

  describe('M5-views', () => {
    it('M5-views: secret input defaults and literal values of secret inputs are masked for those who may not edit, and an editor saving the mask keeps the secret', async () => {
      await saveOk(
        '/alice/app',
        {
          kind: 'deployment',
          nodes: [
            {
              name: 'db',
              image: '/alice/db',
              mappings: { pw: { value: 'mapped-secret' }, license: { value: 'LIC-2' } },
            },
          ],
        },
        alice,
      );
      for (const path of ['/alice/db', '/alice/app'])
        await share(path, [{ user: mallory.userId, allow: ['view', 'run'] }], alice);

      const db = (await get('/modules/version?ref=/alice/db', mallory)).json<{
        content: { inputs: { name: string; default?: string }[] };
      }>();
      expect(db.content.inputs).toEqual([
        expect.objectContaining({ name: 'license', default: 'ACME-LICENSE-4711' }),
        expect.objectContaining({ name: 'pw', default: '********' }),
      ]);
      const app = (await get('/modules/version?ref=/alice/app', mallory)).json<{
        content: { nodes: { mappings: Record<string, unknown> }[] };
      }>();
      expect(app.content.nodes[0]!.mappings).toEqual({
        pw: { value: '********' },
        license: { value: 'LIC-2' },
      });
      for (const url of [
        '/modules/export?path=/alice',
        '/modules/diff?path=/alice/db&from=1&to=1',
      ]) {
        const answer = await get(url, mallory);
        expect(answer.statusCode, answer.body).toBe(200);
        expect(answer.body).not.toMatch(/hunter2|mapped-secret/);
      }

      // The owner (an editor) sees the values, and saving a view that shows the mask keeps them.
      expect((await get('/modules/version?ref=/alice/db', alice)).body).toContain('hunter2');
      expect((await get('/modules/version?ref=/alice/app', alice)).body).toContain('mapped-secret');
      await saveOk('/alice/db', { ...db.content, description: 'edited from a masked view' }, alice);
      await saveOk(
        '/alice/app',
        { ...app.content, description: 'edited from a masked view' },
        alice,
      );
      expect(
        (await get('/modules/version?ref=/alice/db@2', alice)).json<{
          content: { inputs: { default?: string }[] };
        }>().content.inputs[1]!.default,
      ).toBe('hunter2');
      expect(
        (await get('/modules/version?ref=/alice/app@2', alice)).json<{
          content: { nodes: { mappings: Record<string, unknown> }[] };
        }>().content.nodes[0]!.mappings.pw,
      ).toEqual({ value: 'mapped-secret' });
    });
  });

  describe('L9-yaml', () => {
    it('L9-yaml: deeply nested YAML in an import is refused with VALIDATION_FAILED naming the depth limit', async () => {
      for (const depth of [100, 100_000]) {
        for (const yaml of [
          `path: /mallory/x\ncontent: ${'['.repeat(depth)}${']'.repeat(depth)}`,
          `path: /mallory/x\ncontent:\n${Array.from({ length: Math.min(depth, 300) }, (_, level) => `${' '.repeat(level)}- `).join('\n')}x`,
        ]) {
          const answer = await post('/modules/import', { yaml, message: 'deep' }, mallory);
          expect(answer.statusCode, answer.body.slice(0, 200)).toBe(400);
          expect(answer.json<ErrorAnswer>().error).toMatchObject({
            code: 'VALIDATION_FAILED',
            message: expect.stringContaining('deeper than 64 levels'),
          });
        }
      }
      // Ordinary nesting still imports.
      const ordinary = await post(
        '/modules/import',
        {
          yaml: 'path: /mallory/x\ncontent:\n  kind: image\n  recipes:\n    deploy: echo ok\n  inputs:\n    - name: a\n      type: enum\n      options: [x, y]\n      default: x\n',
          message: 'm',
        },
        mallory,
      );
      expect(ordinary.statusCode, ordinary.body).toBe(201);
    });
  });
});

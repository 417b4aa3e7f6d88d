import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import {
  privateDb,
  useTenantBox,
  type ErrorAnswer,
  type RunAnswer,
} from '../fixtures/tenant-box.ts';

/**
 * Module references hold tenant boundaries (H3): a module one may not view is missing for them, in
 * answers, validation, runs, upgrades and published apps. Through the public API, on the tenants'
 * box of test/fixtures/tenant-box.ts.
 */
describe('module references and views hold tenant boundaries', () => {
  let box: TestAppliance;
  let admin: Client;
  let alice: Client;
  let mallory: Client;
  let imageId: string;
  const { save, saveOk, get, post, share, shape } = useTenantBox(
    (parts) => ({ box, admin, alice, mallory, imageId } = parts),
  );

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
});

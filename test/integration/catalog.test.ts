import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

const builtIn = fileURLToPath(new URL('../../appliance/apps', import.meta.url));

/**
 * The catalog shipped with the product, on the test driver. Its guests run nothing there, so the
 * guest stand-in plays them (test/fixtures/guest-stand-in.ts).
 */
describe('the built-in catalog', () => {
  let box: TestAppliance;
  let admin: Client;

  beforeEach(async () => {
    box = await makeAppliance({
      appsDir: join(await tempDir('bivouac-apps-'), 'apps'),
      runs: { retryMs: 50 },
    });
    await box.services.apps.recover();
    admin = await setupAdmin(box.app);
    await box.services.runs.start();
  });
  afterEach(async () => {
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  it('installs every app through the bundle checks, once', async () => {
    expect(await box.services.apps.installBuiltIn(builtIn)).toEqual({
      installed: ['cluster', 'hello-web', 'nextcloud', 'web-db', 'wordpress'],
      failed: [],
    });
    expect(await box.services.apps.installBuiltIn(builtIn)).toEqual({ installed: [], failed: [] });
    const apps = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })
    ).json<{ id: string; signed: boolean; requires: { image: string }[] }[]>();
    expect(apps.map((app) => app.id).sort()).toEqual([
      'cluster',
      'hello-web',
      'nextcloud',
      'web-db',
      'wordpress',
    ]);
    expect(apps.every((app) => app.signed)).toBe(true);
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/modules/history?path=/apps',
          headers: as(admin),
        })
      ).json(),
    ).toHaveLength(1);
  });

  it('deploys Hello web to Ready, and sizes the cluster from its form', async () => {
    await box.services.apps.installBuiltIn(builtIn);
    await importPlaceholderImage(box.services, admin.userId, 'tiny');
    const guests = new GuestStandIn(box.app, box.services);
    try {
      const run = (
        await box.app.inject({
          method: 'POST',
          url: '/api/v1/apps/hello-web/deploy',
          headers: as(admin),
          payload: { parameters: { 'web:greeting': 'Hi there' } },
        })
      ).json<{ id: string }>();
      await box.services.runs.idle();
      const agent = await guests.agent(run.id, 'web.1');
      expect(await agent.get('web.1:greeting')).toBe('Hi there');
      expect((await agent.contextInfo()).body).toMatchObject({
        recipes: [{ name: 'deploy' }],
        ports: [{ name: 'http', port: 80 }],
      });
      await agent.complete('Executing');
      await agent.complete('SendingReports');
      expect(box.services.store.data.runs.find((candidate) => candidate.id === run.id)?.state).toBe(
        'Ready',
      );

      const cluster = await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/cluster/deploy',
        headers: as(admin),
        payload: { parameters: { 'member:count': '2' } },
      });
      expect(
        cluster
          .json<{ instances: { name: string }[] }>()
          .instances.map((instance) => instance.name),
      ).toEqual(['member.1', 'member.2']);
    } finally {
      await guests.close();
    }
  });

  it('says what WordPress needs before anything starts', async () => {
    await box.services.apps.installBuiltIn(builtIn);
    const preflight = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/wordpress/preflight',
        headers: as(admin),
        payload: {},
      })
    ).json<{ ok: boolean; checks: { ok: boolean; message: string }[] }>();
    expect(preflight.ok).toBe(false);
    expect(preflight.checks.filter((check) => !check.ok).map((check) => check.message)).toEqual([
      'base image debian-12 is not in the image store: import the Debian 12 cloud image as debian-12 (README: Debian and Ubuntu cloud images)',
      'base image debian-12 is not in the image store: import the Debian 12 cloud image as debian-12 (README: Debian and Ubuntu cloud images)',
    ]);
  });
});

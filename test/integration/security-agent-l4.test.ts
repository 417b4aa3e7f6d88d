import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

/**
 * Run titles are refused at the edge when they hold a control character (L4); one stored before
 * still launches.
 */
describe('run titles', () => {
  let box: TestAppliance;
  let admin: Client;

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 100 } });
    admin = await setupAdmin(box.app);
    await box.services.runs.start();
  });
  afterEach(async () => {
    await box.services.runs.stop();
    await box.close();
  });

  it('L4: a title with a newline or another control character is refused at the edge; one stored before still launches', async () => {
    const native = {
      libvirt: { imageId: await importPlaceholderImage(box.services, admin.userId) },
    };
    for (const [path, content] of [
      ['/l', { kind: 'project' }],
      ['/l/one', { kind: 'image', nativeImages: native }],
    ] as const) {
      await box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'm' },
      });
    }
    for (const title of ['a\nb', 'a\rb', 'tab\there', 'bell\u0007']) {
      const refused = await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/l/one', title },
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        error: {
          code: 'VALIDATION_FAILED',
          details: {
            fields: [
              {
                field: 'body.title',
                message: 'must be one line without control characters (no newline or tab)',
              },
            ],
          },
        },
      });
    }
    expect(box.services.store.data.runs).toHaveLength(0);

    // A title stored before the check (here by an older box) reaches new VMs through an upgrade:
    // its control characters are left out of the domain XML, and the launch works.
    const id = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/l/one', title: 'ok' },
      })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    const guests = new GuestStandIn(box.app, box.services);
    const agent = await guests.agent(id, 'one.1');
    for (const state of ['Executing', 'SendingReports', 'Ready'] as const)
      await agent.complete(state);
    await guests.close();
    await box.services.store.update((document) => {
      document.runs.find((candidate) => candidate.id === id)!.title = 'first line\nsecond line';
    });
    const upgraded = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/upgrade`,
      headers: as(admin),
      payload: { module: '/l/one' },
    });
    const newer = upgraded.json<{ upgrade: { to: string } }>().upgrade.to;
    await box.services.runs.idle();
    const run = (await box.app.inject({ url: `/api/v1/runs/${newer}`, headers: as(admin) })).json<{
      instances: { state: string; error: string | null }[];
    }>();
    expect(run.instances).toMatchObject([{ state: 'running', error: null }]);
  });
});

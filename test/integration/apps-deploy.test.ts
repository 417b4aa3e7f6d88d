import { describe, expect, it } from 'vitest';
import { useAppStoreBox } from '../fixtures/app-store-box.ts';
import { as, countCommits, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { bundle, helloEntries } from '../fixtures/hello-web-bundle.ts';

/**
 * Deploying an app: one durable commit, and a pre-flight that says what is missing before a deploy
 * is refused. The "Hello web" bundle (test/fixtures/hello-web-bundle.ts) on a box of its own
 * (test/fixtures/app-store-box.ts).
 */
describe('the app store: deploying', () => {
  let box: TestAppliance;
  let admin: Client;
  const { setDiskGiB, importPath } = useAppStoreBox((parts) => ({ box, admin } = parts));

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
    setDiskGiB(1); // a nearly full box
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
});

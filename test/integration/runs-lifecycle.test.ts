import { describe, expect, it, vi } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * A run's way from deploy through its barriers to Ready and its end: mappings, timings,
 * termination, and an instance's console. Runs on libvirt's test driver, guests played by a
 * stand-in (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: from deploy to its end (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  const { deploy, terminate, run, domainsOf } = useRunsBox(
    (parts) => ({ box, admin, guests } = parts),
  );

  it('brings a 3-VM deployment to Ready through barriers and mappings, then terminates it leaving nothing', async () => {
    const created = await deploy({
      module: '/t/app',
      parameters: { 'db:password': 's3cret' },
      tags: ['demo'],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<RunBody>().id;
    expect(created.json<RunBody>().module.resolved).toBe('/t/app@1');
    await box.services.runs.idle();
    expect((await run(id)).state).toBe('Executing');
    expect(
      (await run(id)).instances.map((instance) => `${instance.name} ${instance.state}`),
    ).toEqual(['db.1 running', 'web.1 running', 'web.2 running']);
    expect(await domainsOf(id)).toHaveLength(3);

    const db = await guests.agent(id, 'db.1');
    const webs = [await guests.agent(id, 'web.1'), await guests.agent(id, 'web.2')];
    expect((await db.contextInfo()).body).toMatchObject({
      instance: 'db.1',
      node: 'db',
      recipes: [{ name: 'deploy', script: 'serve' }],
    });
    expect(await db.get('db.1:password')).toBe('s3cret'); // the instance itself may read its secret

    // web waits server-side for db.1:ready; db then publishes its port and readiness.
    const waited = webs.map(async (web) => ({
      ready: await web.get('db.1:ready', 10),
      port: await web.get('web.1:db_port'),
    }));
    await db.set('db.1:port', '5432');
    await db.set('db.1:ready', 'true');
    expect(await Promise.all(waited)).toEqual([
      { ready: 'true', port: '5432' },
      { ready: 'true', port: '5432' },
    ]);
    expect((await run(id)).params).toMatchObject({
      'web.1:db_port': '5432',
      'web.2:db_port': '5432',
      'web.2:greeting': 'hello',
      'db.1:password': '********',
    });

    for (const agent of [db, ...webs]) expect(await agent.complete('Executing')).toBe(204);
    expect(await db.complete('Executing')).toBe(204); // repeated: harmless
    expect((await run(id)).state).toBe('SendingReports');
    for (const agent of [db, ...webs]) await agent.complete('SendingReports');
    expect((await run(id)).state).toBe('Ready');

    const list = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/runs?state=Ready&tag=demo',
        headers: as(admin),
      })
    ).json<{ total: number }>();
    expect(list.total).toBe(1);
    expect(
      (
        await box.app.inject({ method: 'GET', url: '/api/v1/runs?state=Done', headers: as(admin) })
      ).json(),
    ).toMatchObject({ total: 0 });

    expect((await terminate(id)).statusCode).toBe(202);
    await box.services.runs.idle();
    expect((await run(id)).state).toBe('Done');
    expect(await domainsOf(id)).toEqual([]);
    expect(box.services.reservations.all()).toEqual([]);
    expect(await db.set('db.1:x', '1').catch((error: Error) => error.message)).toMatch(
      /UNAUTHENTICATED/,
    ); // tokens die with the run

    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<{ action: string; detail: string }[]>();
    expect(log.filter((entry) => entry.action === 'state').map((entry) => entry.detail)).toEqual([
      'Initializing → Provisioning',
      'Provisioning → Executing',
      'Executing → SendingReports',
      'SendingReports → Ready',
      'Ready → Finalizing',
      'Finalizing → Done',
    ]);
  });

  it("times the appliance's work while guests wait, a parked read from the start of the set that wakes it", async () => {
    const id = (
      await deploy({ module: '/t/app', parameters: { 'db:password': 's3cret' } })
    ).json<RunBody>().id;
    await box.services.runs.idle();
    const db = await guests.agent(id, 'db.1');
    const web = await guests.agent(id, 'web.1');
    const waited = web.get('db.1:ready', 10);
    // Parked once the appliance holds the read: the waiters are the orchestrator's own.
    await vi.waitFor(() => expect(box.services.runs.agents.waitingReads(id, 'db.1:ready')).toBe(1));
    // The set's durable write takes 150 ms: that is the appliance's work the parked read waits on.
    const update = box.services.store.update.bind(box.services.store);
    const slowWrite = vi
      .spyOn(box.services.store, 'update')
      .mockImplementationOnce(async (change) => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return update(change);
      });
    await db.set('db.1:ready', 'true');
    slowWrite.mockRestore();
    expect(await waited).toBe('true');

    type Span = {
      kind: string;
      detail: string;
      startMs: number;
      endMs: number;
      idle: [number, number][];
    };
    const answer = await box.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/timings`,
      headers: as(admin),
    });
    expect(answer.statusCode).toBe(200);
    const spans = answer.json<{ spans: Span[] }>().spans;
    expect(
      spans
        .filter((span) => span.kind === 'launch')
        .map((span) => span.detail)
        .sort(),
    ).toEqual(['db.1', 'web.1', 'web.2']);
    const created = spans.find((span) => span.kind === 'create')!;
    expect(created.detail).toBe('/t/app@1');
    expect(created.startMs).toBeLessThan(
      spans.find((span) => span.kind === 'state' && span.detail === 'Provisioning')!.startMs,
    );
    const set = spans.find((span) => span.detail === 'db.1 POST /params/db.1:ready')!;
    const read = spans.find((span) => span.detail === 'web.1 GET /params/db.1:ready')!;
    expect(read.idle).toHaveLength(1);
    const [parked, woken] = read.idle[0]!;
    expect(parked).toBeGreaterThan(read.startMs);
    // Idle ends when the set began, inside the set's own call, not when the read was answered.
    expect(woken).toBeGreaterThanOrEqual(set.startMs);
    expect(read.endMs - woken).toBeGreaterThanOrEqual(150);
    expect(read.endMs).toBeLessThanOrEqual(set.endMs + 50);

    const anonymous = await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/timings` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('terminates during provisioning without leaving a VM', async () => {
    const id = (
      await deploy({ module: '/t/app', parameters: { 'db:password': 'x' } })
    ).json<RunBody>().id;
    await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/terminate`,
      headers: as(admin),
    });
    await box.services.runs.idle();
    expect(['Done', 'Cancelled']).toContain((await run(id)).state);
    expect(await domainsOf(id)).toEqual([]);
    expect(box.services.reservations.all()).toEqual([]);
  });

  it('says plainly when no console log is kept for an instance', async () => {
    const id = (await deploy({ module: '/t/web', parameters: { db_port: '1' } })).json<RunBody>()
      .id;
    await box.services.runs.idle();
    const response = await box.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/console/web.1`,
      headers: as(admin),
    });
    expect(response.json()).toMatchObject({ error: { code: 'NO_CONSOLE' } }); // the test driver keeps none
    const bad = await box.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/console/nope`,
      headers: as(admin),
    });
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});

import { describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * What a deploy is checked against before anything is reserved: its parameters, placement and
 * capacity, and the user's live runs. Runs on libvirt's test driver, guests played by a stand-in
 * (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: checks before a deploy (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  const { deploy } = useRunsBox((parts) => ({ box, admin } = parts));

  it("caps a user's live runs, a run that reserves nothing counting one, at their quota or the box's default", async () => {
    // Nodes scaled to zero reserve nothing: the run slot is what holds them back.
    const empty = { module: '/t/app', multiplicity: { db: 0, web: 0 } };
    const quota = await box.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${admin.userId}/quota`,
      headers: as(admin),
      payload: { vms: 0, runs: 2 },
    });
    expect(quota.statusCode, quota.body).toBe(200);
    const first = await deploy(empty);
    expect(first.statusCode, first.body).toBe(201);
    expect((await deploy(empty)).statusCode).toBe(201);
    const third = await deploy(empty);
    expect(third.statusCode).toBe(409);
    expect(third.json()).toMatchObject({
      error: {
        code: 'QUOTA_EXCEEDED',
        details: { scope: 'user', resource: 'runs', held: 2, asked: 1, allowed: 2 },
      },
    });
    expect(box.services.store.data.runs).toHaveLength(2);
    // A finished run gives its slot back.
    const firstId = first.json<RunBody>().id;
    await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${firstId}/terminate`,
      headers: as(admin),
    });
    await box.services.runs.idle();
    expect((await deploy(empty)).statusCode).toBe(201);

    // Without a quota for runs, the box's default applies.
    await box.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${admin.userId}/quota`,
      headers: as(admin),
      payload: {},
    });
    const live = () =>
      box.services.store.data.runs.filter(
        (run) => !['Done', 'Aborted', 'Cancelled'].includes(run.state),
      ).length;
    while (live() < limits.liveRunsPerUser) expect((await deploy(empty)).statusCode).toBe(201);
    expect((await deploy(empty)).json()).toMatchObject({
      error: { code: 'QUOTA_EXCEEDED', details: { allowed: limits.liveRunsPerUser } },
    });
  });

  it('validates parameters and placement at the edge and reserves the footprint first', async () => {
    const missing = await deploy({ module: '/t/db' });
    expect(missing.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: {
          fields: [
            { field: 'parameters.password', message: 'required: it has no default and no mapping' },
          ],
        },
      },
    });
    const badNumber = await deploy({ module: '/t/web', parameters: { db_port: 'many' } });
    expect(badNumber.json()).toMatchObject({
      error: {
        details: {
          fields: [{ field: 'parameters.db_port', message: 'must be a number (got "many")' }],
        },
      },
    });
    const badCloud = await deploy({
      module: '/t/app',
      parameters: { 'db:password': 'x' },
      placement: { web: 'mars' },
    });
    expect(badCloud.json<{ error: { message: string } }>().error.message).toContain(
      'no cloud mars',
    );
    const tooBig = await deploy({
      module: '/t/app',
      parameters: { 'db:password': 'x' },
      multiplicity: { web: 9 },
    });
    expect(tooBig.json()).toMatchObject({
      error: { code: 'NO_CAPACITY', details: { resource: 'vms' } },
    });
    expect(
      (await box.app.inject({ method: 'GET', url: '/api/v1/runs', headers: as(admin) })).json(),
    ).toMatchObject({ total: 0, runs: [] });
    expect(box.services.reservations.all()).toEqual([]);
  });
});

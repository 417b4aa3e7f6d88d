import { describe, expect, it } from 'vitest';
import { canAccess } from '../../appliance/src/domain/access.ts';
import { as, login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * Who may see, deploy, share and count runs. Runs on libvirt's test driver, guests played by a
 * stand-in (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: who sees and manages them (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  const { deploy, run } = useRunsBox((parts) => ({ box, admin } = parts));

  it('shows runs only to those who may view them; viewers cannot deploy', async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vic', password: 'long enough password', role: 'viewer' },
    });
    const vic = await login(box.app, 'vic', 'long enough password');
    const id = (await deploy({ module: '/t/web', parameters: { db_port: '1' } })).json<RunBody>()
      .id;
    expect(
      (await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}`, headers: as(vic) }))
        .statusCode,
    ).toBe(404);
    expect(
      (await deploy({ module: '/t/web', parameters: { db_port: '1' } }, vic)).json(),
    ).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('shares a run: a viewer sees it, an operator manages it, a stale change is refused, and who loses it hears so', async () => {
    for (const [username, role] of [
      ['vic', 'viewer'],
      ['olga', 'operator'],
    ]) {
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: as(admin),
        payload: { username, password: 'long enough password', role },
      });
    }
    const vic = await login(box.app, 'vic', 'long enough password');
    const olga = await login(box.app, 'olga', 'long enough password');
    const id = (await deploy({ module: '/t/web', parameters: { db_port: '1' } })).json<RunBody>()
      .id;
    const share = (client: Client, acl: object[], expected?: object[]) =>
      box.app.inject({
        method: 'PUT',
        url: `/api/v1/runs/${id}/acl`,
        headers: as(client),
        payload: { acl, ...(expected ? { expected } : {}) },
      });
    const view = (client: Client) =>
      box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}`, headers: as(client) });
    const listed = async (client: Client) =>
      (await box.app.inject({ method: 'GET', url: '/api/v1/runs', headers: as(client) }))
        .json<{ runs: { id: string }[] }>()
        .runs.map((one) => one.id);

    expect((await share(olga, [])).json()).toMatchObject({ error: { code: 'NOT_FOUND' } }); // what you cannot view does not exist for you
    expect((await share(admin, [{ user: vic.userId, allow: ['sing'] }])).json()).toMatchObject({
      error: { code: 'VALIDATION_FAILED' },
    });
    const rules = [
      { user: vic.userId, allow: ['view', 'manage'] },
      { role: 'operator', allow: ['view', 'manage'] },
    ];
    const shared = await share(admin, rules, []);
    expect(shared.statusCode).toBe(200);
    expect(shared.json()).toMatchObject({ id, acl: rules });

    // The viewer sees it, and no ACL lifts a viewer above viewing; the operator may manage it.
    expect((await view(vic)).statusCode).toBe(200);
    expect(await listed(vic)).toEqual([id]);
    expect(
      (
        await box.app.inject({
          method: 'POST',
          url: `/api/v1/runs/${id}/abort`,
          headers: as(vic),
          payload: { reason: 'no' },
        })
      ).json(),
    ).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await share(vic, [])).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await share(olga, [], [])).json()).toMatchObject({
      error: { code: 'ACL_CHANGED', details: { acl: rules } },
    });
    expect((await run(id)).acl).toEqual(rules); // the refused change left the rules as they were

    const before = box.services.events.since(0)!.length;
    expect((await share(olga, [rules[1]!], rules)).statusCode).toBe(200);
    expect((await view(vic)).statusCode).toBe(404);
    expect(await listed(vic)).toEqual([]);
    // The stream's own check: the viewer who lost the run still hears of the change.
    const [event, ...more] = box.services.events
      .since(0)!
      .slice(before)
      .filter((one) => one.type === 'run.shared');
    expect(more).toEqual([]);
    expect(event).toMatchObject({ subject: { kind: 'run', id } });
    expect(canAccess({ userId: vic.userId, role: 'viewer' }, event!.access, 'view')).toBe(true);
    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<{ actor: string; action: string }[]>();
    expect(log.filter((entry) => entry.action === 'shared').map((entry) => entry.actor)).toEqual([
      admin.userId,
      olga.userId,
    ]);
  });

  it('counts runs by state in one answer, only those the caller may view', async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vic', password: 'long enough password', role: 'viewer' },
    });
    const vic = await login(box.app, 'vic', 'long enough password');
    const counts = async (client: Client) => {
      const answer = await box.app.inject({
        method: 'GET',
        url: '/api/v1/runs/counts',
        headers: as(client),
      });
      expect(answer.statusCode).toBe(200);
      return answer.json<{ byState: Record<string, number>; total: number; scope: string }>();
    };
    const before = await counts(admin);
    expect(before.total).toBe(0);
    expect(Object.values(before.byState).every((count) => count === 0)).toBe(true);
    const first = (
      await deploy({ module: '/t/web', parameters: { db_port: '1' } })
    ).json<RunBody>();
    const second = (
      await deploy({ module: '/t/web', parameters: { db_port: '2' } })
    ).json<RunBody>();
    await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${second.id}/terminate`,
      headers: as(admin),
    });

    const mine = await counts(admin);
    expect(mine).toMatchObject({ total: 2, scope: 'all' });
    // The same figures as the list's totals, state by state.
    for (const [state, count] of Object.entries(mine.byState)) {
      const listed = await box.app.inject({
        method: 'GET',
        url: `/api/v1/runs?state=${state}&limit=1`,
        headers: as(admin),
      });
      expect(listed.json<{ total: number }>().total, state).toBe(count);
    }
    expect(mine.byState[(await run(first.id)).state]).toBeGreaterThanOrEqual(1);

    const theirs = await counts(vic);
    expect(theirs).toMatchObject({ total: 0, scope: 'viewable' });
    expect(Object.values(theirs.byState).every((count) => count === 0)).toBe(true);
    expect((await box.app.inject({ method: 'GET', url: '/api/v1/runs/counts' })).statusCode).toBe(
      401,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * A run upgraded to a new module version: a new run beside the old, switched to or rolled back.
 * Runs on libvirt's test driver, guests played by a stand-in (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: upgrades (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  const { deploy, run, domainsOf } = useRunsBox((parts) => ({ box, admin, guests } = parts));

  it('upgrades the immutable way, and rolls back when the new version fails', async () => {
    const save = (content: object) =>
      box.app.inject({
        method: 'PUT',
        url: '/api/v1/modules?path=/t/web',
        headers: as(admin),
        payload: { content, message: 'v2' },
      });
    const v1 = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/modules/version?ref=/t/web',
        headers: as(admin),
      })
    ).json<{ content: Record<string, unknown> }>().content;
    await save({
      ...v1,
      recipes: { migrate: 'copy data from $BIVOUAC_UPGRADE_FROM', deploy: 'serve-web v2' },
    });
    const id = (
      await deploy({ module: '/t/web@1', parameters: { db_port: '5432' } })
    ).json<RunBody>().id;
    await box.services.runs.idle();
    await (await guests.agent(id, 'web.1')).complete('Executing');
    await (await guests.agent(id, 'web.1')).complete('SendingReports');
    expect((await run(id)).state).toBe('Ready');

    const upgrade = (target: string) =>
      box.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${target}/upgrade`,
        headers: as(admin),
        payload: { module: '/t/web@2' },
      });
    // A failed upgrade: the new run aborts; it is terminated and the old one keeps running.
    const failing = (await upgrade(id)).json<{ upgrade: { to: string; state: string } }>().upgrade;
    expect(failing.state).toBe('deploying');
    await box.services.runs.idle();
    expect((await run(failing.to)).params['run:upgrade.from']).toBe(id);
    expect((await run(failing.to)).params['web.1:db_port']).toBe('5432'); // the same parameters
    await (await guests.agent(failing.to, 'web.1')).abort('migration failed: schema 7 unknown');
    await box.services.runs.idle();
    expect(await run(id)).toMatchObject({
      state: 'Ready',
      upgrade: { state: 'rolled-back', reason: 'migration failed: schema 7 unknown' },
    });
    expect(await domainsOf(failing.to)).toEqual([]);
    expect(await domainsOf(id)).toHaveLength(1);

    // A good upgrade: once the new run is Ready, the old one is terminated.
    const good = (await upgrade(id)).json<{ upgrade: { to: string } }>().upgrade.to;
    await box.services.runs.idle();
    const agent = await guests.agent(good, 'web.1');
    expect((await agent.contextInfo()).body).toMatchObject({
      recipes: [{ name: 'migrate' }, { name: 'deploy', script: 'serve-web v2' }],
    });
    expect(await agent.get('run:upgrade.from')).toBe(id);
    await agent.complete('Executing');
    await agent.complete('SendingReports');
    await box.services.runs.idle();
    expect(await run(good)).toMatchObject({ state: 'Ready', module: { resolved: '/t/web@2' } });
    expect(await run(id)).toMatchObject({
      state: 'Done',
      upgrade: { to: good, state: 'switched' },
    });
    expect(await domainsOf(id)).toEqual([]);
    expect(box.services.reservations.all()).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { useAgentRunBox } from '../fixtures/agent-run-box.ts';
import { as, login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';

/**
 * Where secrets may show (M5): a secret output mapped into a plain input stays masked everywhere,
 * and no upgrade declares someone's secret input plain. The guests are played by the guest stand-in
 * (test/fixtures/agent-run-box.ts).
 */
describe('agents and secrets inside a run (M5)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  let native: object;
  const { put, deploy, agentCall, setAs, params, twoTiers } = useAgentRunBox(
    (parts) => ({ box, admin, guests, native } = parts),
  );

  it('M5: a secret output mapped into a plain input stays masked in the run, its params, its events, its log and its abort reason', async () => {
    const id = await twoTiers();
    const db = (await guests.agent(id, 'db.1')).token;
    const web = (await guests.agent(id, 'web.1')).token;
    await setAs(db, 'db.1:pw', 'S3cret-db-password');
    await agentCall(web, 'POST', '/log', {
      text: '[deploy]\nconnecting with password S3cret-db-password to db',
    });

    const shown = await params(admin, id);
    expect(shown['db.1:pw']).toBe('********');
    expect(shown['web.1:dbpw']).toBe('********');
    expect(shown['web.2:dbpw']).toBe('********');
    const run = (await box.app.inject({ url: `/api/v1/runs/${id}`, headers: as(admin) })).json<{
      params: Record<string, string>;
    }>();
    expect(run.params['web.1:dbpw']).toBe('********');
    const log = (await box.app.inject({ url: `/api/v1/runs/${id}/log`, headers: as(admin) })).json<
      { detail: string }[]
    >();
    expect(log.find((entry) => entry.detail.includes('connecting'))?.detail).toBe(
      '[deploy]\nconnecting with password ******** to db',
    );
    // Nor is it kept: not in the run's log file, nor in what the main document still holds.
    await box.services.runLogs.settled();
    expect(JSON.stringify(await box.services.runLogs.read(id, 1000))).toContain('connecting with');
    expect(JSON.stringify(await box.services.runLogs.read(id, 1000))).not.toContain(
      'S3cret-db-password',
    );
    expect(
      JSON.stringify(box.services.store.data.runs.find((candidate) => candidate.id === id)!.log),
    ).not.toContain('S3cret-db-password');

    await agentCall(web, 'POST', '/abort', { reason: 'db refused S3cret-db-password' });
    await box.services.runs.idle();
    const aborted = (await box.app.inject({ url: `/api/v1/runs/${id}`, headers: as(admin) })).json<{
      abort: { message: string };
      params: Record<string, string>;
    }>();
    expect(aborted.abort.message).toBe('db refused ********');
    expect(aborted.params['run:abort']).toBe('db refused ********');

    const events = JSON.stringify(box.services.events.since(0));
    expect(events).toContain('"key":"web.1:dbpw","value":"********"');
    // A change's event carries the log entries it added, masked as the log shows them.
    expect(events).toContain(JSON.stringify('[deploy]\nconnecting with password ******** to db'));
    expect(events).not.toContain('S3cret-db-password');
  });

  it("M5: a user with manage cannot upgrade someone's run to a module that declares their secret input plain", async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'alice', password: 'alice-password-1', role: 'operator' },
    });
    const mallory = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: as(admin),
        payload: { username: 'mallory', password: 'mallory-password-1', role: 'operator' },
      })
    ).json<{ id: string }>();
    const alice = await login(box.app, 'alice', 'alice-password-1');
    const eve = await login(box.app, 'mallory', 'mallory-password-1');
    await put(alice, '/alice', { kind: 'project' });
    await put(alice, '/alice/vault', {
      kind: 'image',
      nativeImages: native,
      inputs: [{ name: 'token', type: 'password' }],
    });
    const id = await deploy(alice, {
      module: '/alice/vault',
      parameters: { token: 'alice-s3cret-token' },
    });
    const vault = await guests.agent(id, 'vault.1');
    for (const state of ['Executing', 'SendingReports', 'Ready'] as const)
      await vault.complete(state);
    await box.app.inject({
      method: 'PUT',
      url: `/api/v1/runs/${id}/acl`,
      headers: as(alice),
      payload: { acl: [{ user: mallory.id, allow: ['view', 'manage'] }] },
    });

    await put(eve, '/mallory', { kind: 'project' });
    await put(eve, '/mallory/vault', {
      kind: 'image',
      nativeImages: native,
      inputs: [{ name: 'token', type: 'string' }],
    });
    const upgraded = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/upgrade`,
      headers: as(eve),
      payload: { module: '/mallory/vault' },
    });
    expect(upgraded.statusCode).toBe(403);
    expect(upgraded.json()).toMatchObject({
      error: { code: 'FORBIDDEN', details: { inputs: ['vault:token'] } },
    });
    expect(box.services.store.data.runs).toHaveLength(1); // nothing deployed
    expect(box.services.store.data.runs[0]!.upgrade).toBeNull();

    // A module that keeps the input secret is fine for a manager; the owner may choose any.
    await put(eve, '/mallory/vault', {
      kind: 'image',
      nativeImages: native,
      inputs: [{ name: 'token', type: 'password' }],
    });
    const kept = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/upgrade`,
      headers: as(eve),
      payload: { module: '/mallory/vault@2' },
    });
    expect(kept.statusCode).toBe(202);
    const newer = kept.json<{ upgrade: { to: string } }>().upgrade.to;
    expect((await params(eve, newer))['vault.1:token']).toBe('********');
  });
});

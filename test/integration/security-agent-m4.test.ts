import { describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import { useAgentRunBox } from '../fixtures/agent-run-box.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';

/**
 * What one instance's token may do in its run (M4): write only its own declared outputs, never a
 * link, read only its own secrets, within bounded parameters, and nothing once its instance is
 * removed. The guests are played by the guest stand-in (test/fixtures/agent-run-box.ts).
 */
describe('agents and secrets inside a run (M4)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  let native: object;
  const { put, deploy, setAs, getAs, codeOf, params, twoTiers } = useAgentRunBox(
    (parts) => ({ box, admin, guests, native } = parts),
  );

  it("M4: an agent writes only its own instance's declared outputs, never a link (url.*), and reads only its own secrets", async () => {
    const id = await twoTiers();
    const db = (await guests.agent(id, 'db.1')).token;
    const web = (await guests.agent(id, 'web.1')).token;

    // What a guest may do still works: its own outputs (mapped inputs follow).
    expect((await setAs(db, 'db.1:pw', 'S3cret-db-password')).statusCode).toBe(204);
    expect((await setAs(db, 'db:ready', 'true')).statusCode).toBe(204);
    expect((await getAs(web, 'web.1:dbpw')).json()).toEqual({
      key: 'web.1:dbpw',
      value: 'S3cret-db-password',
    });
    expect((await getAs(web, 'db.1:ready')).json()).toEqual({ key: 'db.1:ready', value: 'true' });
    expect((await getAs(web, 'run:state')).statusCode).toBe(200);

    // Another node's keys, another instance of its own node, the appliance's run: keys.
    for (const [key, code] of [
      ['db.1:pw', 'PARAM_FORBIDDEN'],
      ['db:ready', 'PARAM_FORBIDDEN'],
      ['web.2:ready', 'PARAM_FORBIDDEN'],
      ['web.2:dbpw', 'PARAM_FORBIDDEN'],
      ['run:url.service', 'PARAM_FORBIDDEN'],
      ['run:scale', 'PARAM_FORBIDDEN'],
      ['run:upgrade.to', 'PARAM_FORBIDDEN'],
      ['web.1:dbpw', 'PARAM_UNKNOWN'], // its own input: set only through the mapping
      ['web.1:junk', 'PARAM_UNKNOWN'],
      ['web.1:url.sql', 'PARAM_FORBIDDEN'], // links are the appliance's, from the ports it publishes
      ['web.1:url.service', 'PARAM_FORBIDDEN'], // even one the image declares as an output
      ['db.1:url.sql', 'PARAM_FORBIDDEN'],
      ['web.3:ready', 'PARAM_UNKNOWN'],
      ['cache.1:ready', 'PARAM_UNKNOWN'],
    ] as const) {
      const refused = await setAs(web, key, 'https://phish.example/login');
      expect([
        key,
        refused.statusCode === 403 || refused.statusCode === 422,
        codeOf(refused),
      ]).toEqual([key, true, code]);
    }
    const unknown = await setAs(web, 'web.1:junk', 'x');
    expect(unknown.json()).toMatchObject({ error: { details: { allowed: ['web.1:ready'] } } });
    // The run page's "Open" link leading to the UI's own host would hand it an administrator's cookie.
    for (const url of [
      'https://localhost:8443/',
      'http://127.0.0.1:8080/',
      'javascript:alert(1)',
    ]) {
      const refused = await setAs(web, 'web.1:url.service', url);
      expect([url, refused.statusCode, codeOf(refused)]).toEqual([url, 403, 'PARAM_FORBIDDEN']);
    }

    // Secrets: only the instance they belong to reads them.
    expect(codeOf(await getAs(web, 'db.1:pw'))).toBe('PARAM_FORBIDDEN');
    expect(codeOf(await getAs(web, 'web.2:dbpw'))).toBe('PARAM_FORBIDDEN');
    expect(codeOf(await getAs(web, 'db.7:pw'))).toBe('PARAM_FORBIDDEN'); // an instance a scale-up could add
    expect(codeOf(await getAs(db, 'web.1:dbpw'))).toBe('PARAM_FORBIDDEN');
    expect((await getAs(db, 'db.1:pw')).statusCode).toBe(200);

    const after = await params(admin, id);
    expect(after['run:url.service']).toBeUndefined();
    expect(after['run:scale']).toBeUndefined();
    expect(after['web.1:url.service']).toBeUndefined();
    expect(Object.keys(after).filter((key) => key.includes('junk'))).toEqual([]);
  });

  it('M4: runtime parameters per run are bounded in count and bytes, refused whole with PARAMS_FULL', async () => {
    await put(admin, '/p', { kind: 'project' });
    const outputs = Array.from({ length: 200 }, (_, i) => ({ name: `o${i}` }));
    await put(admin, '/p/many', { kind: 'image', nativeImages: native, outputs });
    await put(admin, '/p/big', {
      kind: 'deployment',
      nodes: [{ name: 'n', image: '/p/many', multiplicity: 3 }],
    });
    const id = await deploy(admin, { module: '/p/big' });
    const run = () => box.services.store.data.runs.find((candidate) => candidate.id === id)!;
    const tokens = [
      await guests.agent(id, 'n.1'),
      await guests.agent(id, 'n.2'),
      await guests.agent(id, 'n.3'),
    ].map((agent) => agent.token);
    /** Sets every output of every instance to `value` until one is refused; returns that answer. */
    const fill = async (value: string) => {
      for (let i = 1; i <= 3; i += 1) {
        for (const output of outputs) {
          const answer = await setAs(tokens[i - 1]!, `n.${i}:${output.name}`, value);
          if (answer.statusCode !== 204) return { answer, key: `n.${i}:${output.name}` };
        }
      }
      return null;
    };
    const byCount = await fill('v');
    expect(byCount?.answer.statusCode).toBe(409);
    expect(byCount?.answer.json()).toMatchObject({
      error: {
        code: 'PARAMS_FULL',
        details: { maxKeys: limits.paramsPerRun, maxBytes: limits.paramBytesPerRun },
      },
    });
    expect(Object.keys(run().params)).toHaveLength(limits.paramsPerRun);
    expect(run().params[byCount!.key]).toBeUndefined();

    const byBytes = await fill('w'.repeat(4000));
    expect(codeOf(byBytes!.answer)).toBe('PARAMS_FULL');
    const size = Object.entries(run().params).reduce(
      (sum, [key, value]) => sum + key.length + value.length,
      0,
    );
    expect(size).toBeLessThanOrEqual(limits.paramBytesPerRun);
    expect(size).toBeGreaterThan(limits.paramBytesPerRun - 5000);
    expect(run().params[byBytes!.key]).toBe('v');
    // A change that does not grow the run is still taken.
    expect((await setAs(tokens[0]!, 'n.1:o0', 'x'.repeat(4000))).statusCode).toBe(204);
  });

  it("M4: a removed instance's token no longer works", async () => {
    const id = await twoTiers();
    const db = await guests.agent(id, 'db.1');
    const webs = [await guests.agent(id, 'web.1'), await guests.agent(id, 'web.2')];
    for (const agent of [db, ...webs])
      for (const state of ['Executing', 'SendingReports', 'Ready'] as const)
        await agent.complete(state);
    expect((await getAs(webs[1]!.token, 'run:state')).statusCode).toBe(200);
    const scaled = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/scale`,
      headers: as(admin),
      payload: { node: 'web', multiplicity: 1 },
    });
    expect(scaled.statusCode).toBe(202);
    await box.services.runs.idle();
    expect((await getAs(webs[1]!.token, 'run:state')).statusCode).toBe(401);
    expect((await setAs(webs[1]!.token, 'web.2:ready', 'x')).statusCode).toBe(401);
    expect((await getAs(webs[0]!.token, 'run:state')).statusCode).toBe(200);
  });
});

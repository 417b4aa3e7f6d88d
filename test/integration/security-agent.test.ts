import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

/**
 * The agent side of the trust boundary: what one instance's token may read and write in its run,
 * where secrets may show, and what waiting agents hear while the appliance stops. Agent tokens
 * live in libvirt test-driver domains, which exist only in this process, so the guests are played
 * by the guest stand-in through `inject()`.
 */
describe('agents and secrets inside a run', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  let native: object;
  const put = async (who: Client, path: string, content: object) => {
    const saved = await box.app.inject({
      method: 'PUT',
      url: `/api/v1/modules?path=${path}`,
      headers: as(who),
      payload: { content, message: 'm' },
    });
    if (saved.statusCode !== 200) throw new Error(saved.body);
  };
  const deploy = async (who: Client, payload: object) => {
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(who),
      payload,
    });
    if (created.statusCode !== 201) throw new Error(created.body);
    await box.services.runs.idle();
    return created.json<{ id: string }>().id;
  };
  const agentCall = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    box.app.inject({
      method,
      url: `/api/v1/agent${url}`,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });
  const setAs = (token: string, key: string, value: string) =>
    agentCall(token, 'POST', `/params/${encodeURIComponent(key)}`, { value });
  const getAs = (token: string, key: string) =>
    agentCall(token, 'GET', `/params/${encodeURIComponent(key)}`);
  const codeOf = (response: { statusCode: number; body: string }) =>
    (response.body
      ? (JSON.parse(response.body) as { error?: { code: string } }).error?.code
      : undefined) ?? `answered ${response.statusCode}`;
  const params = async (who: Client, id: string) =>
    (await box.app.inject({ url: `/api/v1/runs/${id}/params`, headers: as(who) })).json<
      Record<string, string>
    >();

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 100 } });
    admin = await setupAdmin(box.app);
    guests = new GuestStandIn(box.app, box.services);
    native = { libvirt: { imageId: await importPlaceholderImage(box.services, admin.userId) } };
    await box.services.runs.start();
  });
  afterEach(async () => {
    await guests.close();
    await box.services.runs.stop();
    await box.close();
  });

  /** db (a secret output pw, a tcp port) and two web instances fed db:pw into a plain input. */
  async function twoTiers(): Promise<string> {
    await put(admin, '/s', { kind: 'project' });
    await put(admin, '/s/db', {
      kind: 'image',
      nativeImages: native,
      outputs: [{ name: 'pw', secret: true }, { name: 'ready' }],
      ports: [{ name: 'sql', port: 5432, protocol: 'tcp' }],
    });
    await put(admin, '/s/web', {
      kind: 'image',
      nativeImages: native,
      inputs: [{ name: 'dbpw', type: 'string' }],
      outputs: [{ name: 'url.service' }, { name: 'ready' }],
    });
    await put(admin, '/s/app', {
      kind: 'deployment',
      nodes: [
        { name: 'db', image: '/s/db' },
        { name: 'web', image: '/s/web', multiplicity: 2, mappings: { dbpw: { output: 'db:pw' } } },
      ],
    });
    return deploy(admin, { module: '/s/app' });
  }

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

  it('M6: while the appliance stops, waiting agents and new waits are answered SHUTTING_DOWN (503, retried), never PARAM_NOT_SET', async () => {
    await put(admin, '/w', { kind: 'project' });
    await put(admin, '/w/one', { kind: 'image', nativeImages: native });
    const id = await deploy(admin, { module: '/w/one' });
    const agent = await guests.agent(id, 'one.1');
    const wait = box.app.inject({
      url: '/api/v1/agent/params/run:never?wait=30',
      headers: { authorization: `Bearer ${agent.token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = box.services.runs.stop(); // what SIGTERM does first
    const answer = await wait;
    expect(answer.statusCode).toBe(503);
    expect(codeOf(answer)).toBe('SHUTTING_DOWN');
    const later = await box.app.inject({
      url: '/api/v1/agent/params/run:never?wait=5',
      headers: { authorization: `Bearer ${agent.token}` },
    });
    expect([later.statusCode, codeOf(later)]).toEqual([503, 'SHUTTING_DOWN']);
    await stopping;
  });
});

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

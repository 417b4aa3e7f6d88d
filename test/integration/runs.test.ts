import { Hypervisor } from '@unraid/libvirt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canAccess } from '../../appliance/src/domain/access.ts';
import { limits } from '../../appliance/src/domain/limits.ts';
import type { VmAfterReady } from '../../appliance/src/domain/vms.ts';
import {
  as,
  countCommits,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

interface RunBody {
  id: string;
  state: string;
  abort: { source: string; message: string } | null;
  acl: object[];
  instances: { name: string; state: string; completed: string[] }[];
  params: Record<string, string>;
  module: { resolved: string };
}

/**
 * Runs on libvirt's test driver. The test driver runs no guest code: a stand-in plays each guest
 * through the agent API (test/fixtures/guest-stand-in.ts).
 */
describe('runs and their orchestration (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 50 } });
    admin = await setupAdmin(box.app);
    guests = new GuestStandIn(box.app, box.services);
    const imageId = await importPlaceholderImage(box.services, admin.userId);
    const native = { libvirt: { imageId } };
    const modules: [string, object][] = [
      ['/t', { kind: 'project' }],
      [
        '/t/db',
        {
          kind: 'image',
          nativeImages: native,
          inputs: [{ name: 'password', type: 'password' }],
          outputs: [{ name: 'port' }, { name: 'ready' }],
          recipes: { deploy: 'serve' },
        },
      ],
      [
        '/t/web',
        {
          kind: 'image',
          nativeImages: native,
          inputs: [
            { name: 'db_port', type: 'number' },
            { name: 'greeting', type: 'string', default: 'hello' },
          ],
          outputs: [{ name: 'url.service' }],
          recipes: { deploy: 'serve-web' },
        },
      ],
      [
        '/t/app',
        {
          kind: 'deployment',
          nodes: [
            { name: 'db', image: '/t/db', mappings: { password: { value: 'changeme' } } },
            {
              name: 'web',
              image: '/t/web',
              multiplicity: 2,
              maxFailures: 1,
              mappings: { db_port: { output: 'db:port' } },
            },
          ],
        },
      ],
    ];
    for (const [path, content] of modules) {
      const saved = await box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'seed' },
      });
      if (saved.statusCode !== 200) throw new Error(saved.body);
    }
    await box.services.runs.start();
  });
  afterEach(async () => {
    await box.services.reconciler.stop();
    await box.services.runs.stop();
    await guests.close();
    await box.services.clouds.close();
    await box.close();
  });

  const deploy = (payload: object, client = admin) =>
    box.app.inject({ method: 'POST', url: '/api/v1/runs', headers: as(client), payload });
  const run = async (id: string): Promise<RunBody> =>
    (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}`, headers: as(admin) })
    ).json<RunBody>();
  const domainsOf = async (id: string): Promise<string[]> => {
    const hypervisor = new Hypervisor({ uri: 'test:///default' });
    await hypervisor.connectOpen();
    const names = await Promise.all(
      (await hypervisor.connectListAllDomains()).map((domain) => hypervisor.domainGetName(domain)),
    );
    await hypervisor.connectClose();
    return names.filter((name) => name.startsWith(`bvc-${id.slice(0, 12)}`));
  };

  it('commits a launch once: the instance running on its VM record, with what the cloud said and its job ended', async () => {
    // The reconciler's own writes (a VM's state as its cloud reports it) are not the launch's.
    await box.services.reconciler.stop();
    const { store } = box.services;
    const commits = countCommits(store);
    const created = await deploy({ module: '/t/app', parameters: { 'db:password': 's3cret' } });
    expect(created.statusCode).toBe(201);
    const id = created.json<RunBody>().id;
    await box.services.runs.idle();
    expect((await run(id)).state).toBe('Executing');
    // One for the deploy, one for each of its three VMs.
    expect(commits()).toBe(1 + 3);
    expect(store.data.jobs).toEqual([]);
    const vms = store.data.vms.filter((vm) => vm.runId === id);
    expect(vms.map((vm) => vm.state)).toEqual(['running', 'running', 'running']);
    for (const instance of store.data.runs.find((candidate) => candidate.id === id)!.instances)
      expect(instance).toMatchObject({
        state: 'running',
        vmId: vms.find((vm) => vm.instance === instance.name)!.id,
      });
  });

  it('clears what a launch cut short left under its name before launching, and the reconciler does not call it unknown meanwhile', async () => {
    const connector = box.services.clouds.connector('box');
    const terminate = connector.terminate.bind(connector);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let cleared: readonly string[] = [];
    let unknownMeanwhile: string[] | null = null;
    // The first thing a launch does is clear its name; before it may, the test leaves there what a
    // crash between the cloud's launch and its record leaves: a VM whose guest holds a token
    // nobody recorded.
    const spy = vi.spyOn(connector, 'terminate').mockImplementationOnce(async (names) => {
      const [name] = names;
      const run = box.services.store.data.runs.find((candidate) =>
        name!.startsWith(`bvc-${candidate.id.slice(0, 12)}`),
      )!;
      await connector.launch([
        {
          name: name!,
          title: 'left behind',
          runId: run.id,
          instance: 'db.1',
          owner: run.owner,
          vcpu: 1,
          memoryMiB: 64,
          diskGiB: 1,
          image: box.services.images.bootImage('tiny'),
          context: { 'bivouac.token': 'bvi-left-behind' },
          network: { mode: 'user' },
          accelerator: 'auto',
        },
      ]);
      await box.services.reconciler.reconcile('box');
      unknownMeanwhile = box.services.reconciler.unknown().map((vm) => vm.nativeId);
      await released;
      cleared = names;
      return terminate(names);
    });
    const id = (await deploy({ module: '/t/app' })).json<RunBody>().id;
    await expect.poll(() => unknownMeanwhile).not.toBeNull();
    expect(unknownMeanwhile).toEqual([]);
    release();
    await box.services.runs.idle();
    spy.mockRestore();

    expect(cleared).toHaveLength(1);
    const vms = box.services.store.data.vms.filter((vm) => vm.runId === id);
    expect(vms.map((vm) => [vm.instance, vm.state]).sort()).toEqual([
      ['db.1', 'running'],
      ['web.1', 'running'],
      ['web.2', 'running'],
    ]);
    const relaunched = vms.find((vm) => vm.nativeId === cleared[0])!;
    const context = await guests.context(relaunched);
    expect(context['bivouac.token']).toMatch(/^bvi_/);
    expect(box.services.runs.authenticateAgent('bvi-left-behind')).toBeNull();
    expect(box.services.runs.authenticateAgent(context['bivouac.token'])).toMatchObject({
      runId: id,
      instance: relaunched.instance,
    });
  });

  it("tells an agent whose VM is up before its launch's commit to come back (VM_STARTING), then serves it", async () => {
    const connector = box.services.clouds.connector('box');
    const describe = connector.describe.bind(connector);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let launchedName: string | null = null;
    // Between the cloud's launch and the commit that records it, the guest may already call.
    const spy = vi.spyOn(connector, 'describe').mockImplementationOnce(async (names) => {
      launchedName = names[0]!;
      await released;
      return describe(names);
    });
    await deploy({ module: '/t/app' });
    await expect.poll(() => launchedName).not.toBeNull();
    const { 'bivouac.token': token } = await guests.context({ nativeId: launchedName! } as never);
    const ask = () =>
      box.app.inject({
        method: 'GET',
        url: '/api/v1/agent/params/run:state',
        headers: { authorization: `Bearer ${token}` },
      });
    const early = await ask();
    expect(early.statusCode).toBe(503);
    expect(early.json()).toMatchObject({ error: { code: 'VM_STARTING' } });
    release();
    await box.services.runs.idle();
    spy.mockRestore();
    const later = await ask();
    expect(later.statusCode, later.body).toBe(200);
  });

  it("tells the VM-after-Ready hook of a Ready run's VM changing state, and not of the run's own progress before", async () => {
    const told: VmAfterReady[] = [];
    const stop = box.services.runs.onVmAfterReady((change) => told.push(change));
    const id = (await deploy({ module: '/t/app' })).json<RunBody>().id;
    await toReady(id);
    expect((await run(id)).state).toBe('Ready');
    // Three launches (launching to running) happened before Ready: none is told.
    expect(told).toEqual([]);
    // Nor is a launch while Ready: a scale-up is the run's own work.
    const scaled = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/scale`,
      headers: as(admin),
      payload: { node: 'web', multiplicity: 3 },
    });
    expect(scaled.statusCode).toBe(202);
    await box.services.runs.idle();
    expect(
      box.services.store.data.vms.filter((vm) => vm.runId === id && vm.state === 'running'),
    ).toHaveLength(4);
    expect(told).toEqual([]);

    // The cloud's lifecycle events, as the reconciler hands them on: paused, then gone.
    const db = box.services.store.data.vms.find((vm) => vm.runId === id && vm.instance === 'db.1')!;
    const lifecycle = (state: 'paused' | 'gone', event: string) =>
      box.services.vms.applyEvent(db.cloudId, {
        nativeId: db.nativeId,
        name: db.nativeId,
        state,
        event,
        time: new Date().toISOString(),
      });
    await lifecycle('paused', 'suspended');
    await lifecycle('gone', 'undefined');
    expect(told.map(({ runId, instance, from, vm }) => [runId, instance, from, vm.state])).toEqual([
      [id, 'db.1', 'running', 'paused'],
      [id, 'db.1', 'paused', 'gone'],
    ]);
    expect(told[1]!.vm.goneReason).toBe('vanished: undefined');
    stop();
  });

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

    const terminated = await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/terminate`,
      headers: as(admin),
    });
    expect(terminated.statusCode).toBe(202);
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
    await vi.waitFor(() =>
      expect(
        (box.services.runs as unknown as { waiters: Map<string, unknown> }).waiters.has(
          `${id} db.1:ready`,
        ),
      ).toBe(true),
    );
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

  /** Plays every live instance's guest through Executing and SendingReports. */
  async function toReady(id: string): Promise<void> {
    await box.services.runs.idle();
    const db = await guests.agent(id, 'db.1');
    await db.set('db.1:port', '5432');
    for (const instance of (await run(id)).instances.filter(
      (candidate) => candidate.state === 'running',
    )) {
      const agent = await guests.agent(id, instance.name);
      await agent.complete('Executing');
      await agent.complete('SendingReports');
    }
  }

  it('scales a node up and down while Ready, within capacity, telling the others', async () => {
    const id = (await deploy({ module: '/t/app' })).json<RunBody>().id;
    await toReady(id);
    expect((await run(id)).state).toBe('Ready');
    const db = await guests.agent(id, 'db.1');
    const told = db.get('run:scale', 10);
    const scale = (node: string, multiplicity: number) =>
      box.app.inject({
        method: 'POST',
        url: `/api/v1/runs/${id}/scale`,
        headers: as(admin),
        payload: { node, multiplicity },
      });

    expect((await scale('web', 4)).statusCode).toBe(202);
    expect(await told).toBe('1 add web.3 web.4');
    await box.services.runs.idle();
    const grown = await run(id);
    expect(grown.state).toBe('Ready');
    expect(
      grown.instances
        .filter((instance) => instance.state === 'running')
        .map((instance) => instance.name),
    ).toEqual(['db.1', 'web.1', 'web.2', 'web.3', 'web.4']);
    expect(grown.params['web.4:db_port']).toBe('5432'); // the mapped output reached the new instances
    expect(await domainsOf(id)).toHaveLength(5);
    expect(box.services.reservations.all()[0]!.amounts.vms).toBe(5);

    const refused = await scale('web', 9);
    expect(refused.json()).toMatchObject({
      error: { code: 'NO_CAPACITY', details: { resource: 'vms', allowed: 8, held: 5, asked: 5 } },
    });
    expect(await domainsOf(id)).toHaveLength(5);

    const next = db.get('run:scale', 10, '1 add web.3 web.4');
    expect((await scale('web', 1)).statusCode).toBe(202);
    expect(await next).toBe('2 remove web.4 web.3 web.2');
    await box.services.runs.idle();
    const shrunk = await run(id);
    expect(
      shrunk.instances
        .filter((instance) => instance.state === 'running')
        .map((instance) => instance.name),
    ).toEqual(['db.1', 'web.1']);
    expect(await domainsOf(id)).toHaveLength(2);
    expect(box.services.reservations.all()[0]!.amounts.vms).toBe(2);
    expect(shrunk.state).toBe('Ready');
    await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/terminate`,
      headers: as(admin),
    });
    expect((await scale('web', 2)).json()).toMatchObject({ error: { code: 'WRONG_STATE' } });
  });

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

  it('aborts a run whose VM is destroyed behind its back', async () => {
    const id = (await deploy({ module: '/t/app', keepRunning: 'never' })).json<RunBody>().id;
    await toReady(id);
    const [victim] = await domainsOf(id);
    const hypervisor = new Hypervisor({ uri: 'test:///default' });
    await hypervisor.connectOpen();
    const domain = await hypervisor.domainLookupByName(victim!);
    await hypervisor.domainDestroy(domain);
    await hypervisor.domainUndefine(domain);
    await hypervisor.connectClose();
    await box.services.reconciler.start(); // its first pass finds the VM gone
    await box.services.runs.idle();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    expect(ended.abort).toMatchObject({
      source: 'reconciler',
      message: expect.stringContaining('VM vanished'),
    });
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

  it('spans clouds: each node placed on the cloud asked for', async () => {
    const added = await box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(admin),
      payload: { name: 'Rack 2', kind: 'libvirt', config: { uri: 'test:///default' } },
    });
    const rack = added.json<{ id: string }>().id;
    const id = (await deploy({ module: '/t/app', placement: { web: rack } })).json<
      RunBody & { nodes: { name: string; cloudId: string }[] }
    >().id;
    await box.services.runs.idle();
    const vms = box.services.vms.all().filter((vm) => vm.runId === id);
    expect(vms.map((vm) => `${vm.instance}@${vm.cloudId}`).sort()).toEqual([
      'db.1@box',
      `web.1@${rack}`,
      `web.2@${rack}`,
    ]);
    await box.app.inject({
      method: 'POST',
      url: `/api/v1/runs/${id}/terminate`,
      headers: as(admin),
    });
    await box.services.runs.idle();
    expect(box.services.vms.all().filter((vm) => vm.runId === id && vm.state !== 'gone')).toEqual(
      [],
    );
  });

  it('aborts from a recipe, keeping the first reason, and leaves no VM when policy says so', async () => {
    const id = (
      await deploy({ module: '/t/app', parameters: { 'db:password': 'x' }, keepRunning: 'never' })
    ).json<RunBody>().id;
    await box.services.runs.idle();
    const web = await guests.agent(id, 'web.1');
    const db = await guests.agent(id, 'db.1');
    expect(await web.abort('deploy exited with code 3')).toBe(204);
    expect(await db.abort('second reason')).toBe(204);
    await box.services.runs.idle();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    expect(ended.abort).toMatchObject({ source: 'recipe', message: 'deploy exited with code 3' });
    expect(await domainsOf(id)).toEqual([]);
  });

  it('aborts when a node loses more instances than it tolerates, naming the instance and why', async () => {
    // A stand-in for a cloud that fails every launch part way, its domain already made: the test
    // driver itself never fails one.
    const connector = box.services.clouds.connector('box');
    const launch = connector.launch.bind(connector);
    const refuse = vi.spyOn(connector, 'launch').mockImplementation(async (specs) => {
      await launch(specs);
      throw new Error(
        'The cloud test:///default refused start: Failed to connect socket to /run/libvirt/virtlogd-sock',
      );
    });
    const id = (await deploy({ module: '/t/db', parameters: { password: 'x' } })).json<RunBody>()
      .id;
    await box.services.runs.idle();
    refuse.mockRestore();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    // The cloud is named by its name: where it is (its URI) is for administrators only.
    expect(ended.abort).toMatchObject({
      source: 'launch',
      message:
        'node db has more failed instances than its maxFailures (0); db.1: The cloud This box refused start: Failed to connect socket to /run/libvirt/virtlogd-sock',
    });
    expect(await domainsOf(id)).toEqual([]); // what the failed launch made is gone
    expect(box.services.reservations.all()).toEqual([]);
  });

  it('aborts a run that stays too long in a state', async () => {
    const id = (
      await deploy({
        module: '/t/app',
        parameters: { 'db:password': 'x' },
        keepRunning: 'never',
        timeouts: { Executing: 1 },
      })
    ).json<RunBody>().id;
    await expect.poll(async () => (await run(id)).state, { timeout: 5000 }).toBe('Aborted');
    expect((await run(id)).abort).toMatchObject({
      source: 'timeout',
      message: 'Executing took longer than 1 s',
    });
    await box.services.runs.idle();
    expect(await domainsOf(id)).toEqual([]);
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

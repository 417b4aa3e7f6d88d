import { describe, expect, it, vi } from 'vitest';
import { as, countCommits, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * How a run launches its VMs: one commit per launch, what a launch cut short is cleared first, an
 * agent early for its commit is asked to come back, and each node goes to the cloud asked for. Runs
 * on libvirt's test driver, guests played by a stand-in (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: launching (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  const { deploy, run } = useRunsBox((parts) => ({ box, admin, guests } = parts));

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
    expect(box.services.runs.agents.authenticate('bvi-left-behind')).toBeNull();
    expect(box.services.runs.agents.authenticate(context['bivouac.token'])).toMatchObject({
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
});

import { describe, expect, it } from 'vitest';
import type { VmAfterReady } from '../../appliance/src/domain/vms.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * A Ready run scaled up and down, and what is told of its VMs once it is Ready. Runs on libvirt's
 * test driver, guests played by a stand-in (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: scaling while Ready (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  const { deploy, run, domainsOf, toReady } = useRunsBox(
    (parts) => ({ box, admin, guests } = parts),
  );

  it("tells the VM-after-Ready hook of a Ready run's VM changing state, and not of the run's own progress before", async () => {
    const told: VmAfterReady[] = [];
    const stop = box.services.runs.vmWatch.onVmAfterReady((change) => told.push(change));
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
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmRecord } from '../../appliance/src/domain/vms.ts';
import { LibvirtConnector } from '../../appliance/src/connectors/libvirt/libvirt-connector.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

/**
 * The reconciler on libvirt's test driver. Within one process every `test:///default`
 * connection shares one driver, so a second connector plays "someone else on the host".
 */
describe('VM records and the reconciler (test driver)', () => {
  let box: TestAppliance;
  let admin: Client;
  let outside: LibvirtConnector;
  const vanished: VmRecord[] = [];
  let held = new Set<string>();

  beforeEach(async () => {
    vanished.length = 0;
    held = new Set();
    box = await makeAppliance({
      reconciler: {
        idlePollMs: 60_000,
        reservationGraceMs: 0,
        onVanished: (vm) => void vanished.push(vm),
        isHeld: (reservation) => held.has(reservation.id),
      },
    });
    admin = await setupAdmin(box.app);
    outside = new LibvirtConnector(
      { uri: 'test:///default', accelerator: 'tcg', callTimeoutSeconds: 5 },
      { stateDir: await tempDir() },
    );
    // Domains left by earlier tests in this process would show up as unknown ones.
    const leftovers = (await outside.list())
      .filter((domain) => domain.bivouac)
      .map((domain) => domain.nativeId);
    await outside.terminate(leftovers);
    await box.services.reconciler.start();
  });
  afterEach(async () => {
    await box.services.reconciler.stop();
    await outside.close();
    await box.services.clouds.close();
    await box.close();
  });

  const listVms = async (client: Client, include = 'live') =>
    (
      await box.app.inject({
        method: 'GET',
        url: `/api/v1/vms?include=${include}`,
        headers: as(client),
      })
    ).json<{
      vms: VmRecord[];
      unknown: { nativeId: string; runId: string | null }[];
      foreign: { nativeId: string }[];
      tracking: Record<string, string>;
    }>();

  it('records launches and terminations, and lists them to whoever may view them', async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'operator' },
    });
    const olga = await login(box.app, 'olga', 'long enough password');
    const reservation = await box.services.reservations.reserve(admin.userId, 'run:r1', {
      vms: 2,
      vcpu: 2,
      memoryMiB: 256,
      diskGiB: 2,
    });
    const a = await box.services.vms.launch(
      'box',
      vmSpec('bvc-r1-web-1', { runId: 'r1', owner: admin.userId }),
      reservation.id,
    );
    const b = await box.services.vms.launch(
      'box',
      vmSpec('bvc-r1-web-2', { runId: 'r1', instance: 'web.2', owner: admin.userId }),
      reservation.id,
    );
    expect([a.state, b.state]).toEqual(['running', 'running']);

    const asAdmin = await listVms(admin);
    expect(asAdmin.vms.map((vm) => vm.nativeId).sort()).toEqual(['bvc-r1-web-1', 'bvc-r1-web-2']);
    expect(asAdmin.tracking).toEqual({ box: 'polling' }); // a private test driver cannot push
    expect(asAdmin.foreign.map((vm) => vm.nativeId)).toContain('test'); // the driver's own sample domain
    const asOlga = await listVms(olga);
    expect(asOlga).toMatchObject({ vms: [], unknown: [], foreign: [] });

    await box.services.reconciler.reconcile('box');
    expect(box.services.reservations.all()[0]!.inUse).toEqual({
      vms: 2,
      vcpu: 2,
      memoryMiB: 256,
      diskGiB: 2,
    });

    await box.services.vms.terminate(a.id);
    expect(await outside.describe(['bvc-r1-web-1'])).toEqual([]);
    expect((await listVms(admin, 'all')).vms.find((vm) => vm.id === a.id)).toMatchObject({
      state: 'gone',
      goneReason: 'terminated',
    });
    const types = (box.services.events.since(0) ?? []).map((event) => event.type);
    expect(types.filter((type) => type === 'vm.gone')).toHaveLength(1);
  });

  it('marks a VM destroyed behind its back as gone and tells the orchestrator', async () => {
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-r2-db-1', { runId: 'r2', owner: admin.userId }),
      null,
    );
    await outside.terminate(['bvc-r2-db-1']);
    await box.services.reconciler.reconcile('box');
    expect(box.services.vms.get(vm.id)).toMatchObject({
      state: 'gone',
      goneReason: 'vanished: no longer on its cloud',
    });
    expect(vanished.map((record) => record.id)).toEqual([vm.id]);
  });

  it('finds changes by polling when the cloud cannot push', async () => {
    await box.services.reconciler.stop();
    await box.close();
    box = await makeAppliance({ reconciler: { idlePollMs: 50, watchedPollMs: 50 } });
    await box.services.reconciler.start();
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-r3-db-1', { runId: 'r3', owner: 'someone' }),
      null,
    );
    await outside.terminate(['bvc-r3-db-1']);
    await expect.poll(() => box.services.vms.get(vm.id).state, { timeout: 3000 }).toBe('gone');
  });

  it('reports a Bivouac VM the store does not know and leaves it running', async () => {
    await outside.launch([vmSpec('bvc-stray-1', { runId: 'lost-run' })]);
    await box.services.reconciler.reconcile('box');
    const listed = await listVms(admin);
    expect(listed.unknown).toEqual([
      expect.objectContaining({ nativeId: 'bvc-stray-1', runId: 'lost-run' }),
    ]);
    expect(await outside.describe(['bvc-stray-1'])).toEqual([
      expect.objectContaining({ state: 'running' }),
    ]);
    const reported = (box.services.events.since(0) ?? []).filter(
      (event) => event.type === 'vm.unknown',
    );
    expect(reported).toHaveLength(1);
    await box.services.reconciler.reconcile('box');
    expect(
      (box.services.events.since(0) ?? []).filter((event) => event.type === 'vm.unknown'),
    ).toHaveLength(1); // reported once
    await outside.terminate(['bvc-stray-1']);
  });

  it('resolves launches a crash interrupted', async () => {
    await outside.launch([vmSpec('bvc-r4-web-1', { runId: 'r4' })]);
    const record = (nativeId: string): VmRecord => ({
      id: `id-${nativeId}`,
      cloudId: 'box',
      nativeId,
      runId: 'r4',
      instance: 'web.1',
      owner: admin.userId,
      reservationId: null,
      imageId: null,
      state: 'launching',
      ips: [],
      vcpu: 1,
      memoryMiB: 128,
      diskGiB: 1,
      createdAt: new Date(Date.now() - 1000).toISOString(),
      updatedAt: new Date(Date.now() - 1000).toISOString(),
      goneReason: null,
    });
    await box.services.store.update((document) => {
      document.vms.push(record('bvc-r4-web-1'), record('bvc-r4-web-2'));
    });
    await box.services.reconciler.reconcile('box');
    expect(box.services.vms.get('id-bvc-r4-web-1').state).toBe('running');
    expect(box.services.vms.get('id-bvc-r4-web-2')).toMatchObject({
      state: 'gone',
      goneReason: 'launch interrupted',
    });
  });

  it('releases reservations nothing holds and keeps the others', async () => {
    const leaked = await box.services.reservations.reserve(admin.userId, 'run:gone', {
      vms: 1,
      vcpu: 1,
      memoryMiB: 128,
      diskGiB: 1,
    });
    const waiting = await box.services.reservations.reserve(admin.userId, 'run:waiting', {
      vms: 1,
      vcpu: 1,
      memoryMiB: 128,
      diskGiB: 1,
    });
    const used = await box.services.reservations.reserve(admin.userId, 'run:used', {
      vms: 1,
      vcpu: 1,
      memoryMiB: 128,
      diskGiB: 1,
    });
    held.add(waiting.id);
    await box.services.vms.launch(
      'box',
      vmSpec('bvc-r5-web-1', { runId: 'r5', owner: admin.userId }),
      used.id,
    );
    await box.services.reconciler.reconcile('box');
    expect(
      box.services.reservations
        .all()
        .map((reservation) => reservation.id)
        .sort(),
    ).toEqual([waiting.id, used.id].sort());
    expect(
      box.services.reservations.all().some((reservation) => reservation.id === leaked.id),
    ).toBe(false);
  });

  it('refuses to remove a cloud that still runs VMs', async () => {
    const added = await box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(admin),
      payload: { name: 'Lab', kind: 'libvirt', config: { uri: 'test:///default' } },
    });
    const cloudId = added.json<{ id: string }>().id;
    await expect
      .poll(() => box.services.reconciler.tracking()[cloudId], { timeout: 15_000 })
      .toBe('polling');
    const vm = await box.services.vms.launch(
      cloudId,
      vmSpec('bvc-r6-web-1', { runId: 'r6', owner: admin.userId }),
      null,
    );
    const refused = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/clouds/${cloudId}`,
      headers: as(admin),
    });
    expect(refused.json()).toMatchObject({ error: { code: 'CLOUD_IN_USE', details: { vms: 1 } } });
    await box.services.vms.terminate(vm.id);
    expect(
      (
        await box.app.inject({
          method: 'DELETE',
          url: `/api/v1/clouds/${cloudId}`,
          headers: as(admin),
        })
      ).statusCode,
    ).toBe(204);
    await expect
      .poll(() => box.services.reconciler.tracking()[cloudId], { timeout: 15_000 })
      .toBeUndefined();
  });
});

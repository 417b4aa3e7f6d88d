import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { adminApi, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { as, makeAppliance, setupAdmin, tempDir } from '../fixtures/appliance.ts';
import { exists, proofScript, type CloudBody } from '../fixtures/cloud-uri-box.ts';

/**
 * Clouds stored before URIs were parsed (H2): one with command= in its URI is disabled at start and
 * never contacted, and its VMs are let go so it can be removed.
 */
describe('a disabled cloud with VMs (H2)', () => {
  it('H2: a VM on a disabled cloud is let go without contacting it, so the cloud can be removed', async () => {
    const { script, mark } = await proofScript();
    const dataDir = await tempDir('bivouac-upgraded-vms-');
    const { store } = await openStore(dataDir);
    const stamp = '2026-01-01T00:00:00.000Z';
    await store.update((document) => {
      document.clouds.push({
        id: 'oldcloud0002',
        name: 'Old rack',
        kind: 'libvirt',
        config: { uri: `qemu+ssh://x/system?command=/bin/sh&keyfile=${script}` },
        createdAt: stamp,
        createdBy: 'admin',
      });
      document.vms.push({
        id: 'oldvm0000001',
        cloudId: 'oldcloud0002',
        nativeId: 'bvc-old-web-1',
        runId: 'oldrun',
        instance: 'web.1',
        owner: 'admin',
        reservationId: null,
        imageId: null,
        state: 'running',
        ips: [],
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
        createdAt: stamp,
        updatedAt: stamp,
        goneReason: null,
      });
    });
    await store.flush();
    const box = await makeAppliance({ dataDir });
    try {
      const admin = await setupAdmin(box.app);
      const refused = await box.app.inject({
        method: 'DELETE',
        url: '/api/v1/clouds/oldcloud0002',
        headers: as(admin),
      });
      expect(refused.json()).toMatchObject({ error: { code: 'CLOUD_IN_USE' } });
      const gone = await box.services.vms
        .terminate('oldvm0000001')
        .catch((error: unknown) => error);
      expect(await exists(mark)).toBe(false);
      expect(gone).toMatchObject({ state: 'gone', goneReason: expect.stringMatching(/disabled/) });
      expect(
        (
          await box.app.inject({
            method: 'DELETE',
            url: '/api/v1/clouds/oldcloud0002',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(204);
      expect(box.services.clouds.disabledClouds()).toEqual([]);
    } finally {
      await box.services.clouds.close();
      await box.close();
    }
  });
});

describe('stored clouds are checked again at start (H2)', () => {
  let appliance: ApplianceProcess | undefined;
  afterEach(async () => {
    await appliance?.stop();
  });

  it('H2: a cloud stored by an older version with command= in its URI is disabled at start, never contacted, and shown with the reason', async () => {
    const { script, mark } = await proofScript();
    const dataDir = await tempDir('bivouac-upgraded-');
    const { store } = await openStore(dataDir);
    await store.update((document) => {
      document.clouds.push({
        id: 'oldcloud0001',
        name: 'Old rack',
        kind: 'libvirt',
        config: {
          uri: `qemu+ssh://x/system?command=/bin/sh&keyfile=${script}`,
          accelerator: 'auto',
          callTimeoutSeconds: 5,
        },
        createdAt: '2026-01-01T00:00:00.000Z',
        createdBy: 'admin',
      });
    });
    await store.flush();
    const password = 'upgrade test password';
    appliance = await startAppliance(dataDir, {
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_CLOUD_HEALTH_SECONDS: '1',
    });
    const api = await adminApi(() => appliance!.url, password);
    // The reconciler, the runs and a few rounds of health checks have had their chance.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await exists(mark)).toBe(false);

    const clouds = (await api('GET', '/clouds')).body as unknown as CloudBody[];
    const old = clouds.find((cloud) => cloud.id === 'oldcloud0001')!;
    expect(old.disabled?.reason).toMatch(/config\.uri names the parameter command/);
    expect(old.status).toMatchObject({
      reachable: false,
      lastError: expect.stringMatching(/^Disabled, never contacted/),
    });
    expect(old.target).toBeNull();
    const tested = await api('POST', '/clouds/oldcloud0001/test');
    expect(tested.status).toBe(409);
    expect(tested.body).toMatchObject({
      error: { code: 'CLOUD_DISABLED', details: { reason: expect.stringMatching(/command/) } },
    });
    expect(
      appliance.logs.some(
        (line) =>
          line.msg === 'a stored cloud is disabled and never contacted: its config is refused' &&
          line.id === 'oldcloud0001',
      ),
    ).toBe(true);
    expect(await exists(mark)).toBe(false);
    // It stays listed until an administrator removes it.
    expect((await api('DELETE', '/clouds/oldcloud0001')).status).toBe(204);
  }, 30_000);
});

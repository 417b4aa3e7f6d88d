import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricsSampler } from '../../appliance/src/host/metrics.ts';
import { History } from '../../appliance/src/store/history.ts';
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

describe('box metrics and history over the API (real host sample, test-driver VMs)', () => {
  let box: TestAppliance;
  let admin: Client;
  let history: History;

  beforeEach(async () => {
    history = await History.open({ directory: join(await tempDir(), 'history') });
    box = await makeAppliance({ history });
    box.services.sampler = new MetricsSampler({
      dataDir: box.dataDir,
      history,
      vmUsage: () =>
        box.services.vms.all().length ? box.services.vmUsage.read() : Promise.resolve([]),
    });
    admin = await setupAdmin(box.app);
  });
  afterEach(async () => {
    await box.services.sampler?.stop();
    history.close();
    await box.services.clouds.close();
    await box.close();
  });

  it('serves the latest host sample, never inventing what the host lacks', async () => {
    const before = (
      await box.app.inject({ method: 'GET', url: '/api/v1/box/metrics', headers: as(admin) })
    ).json();
    expect(before).toEqual({
      timeMs: null,
      cpuPercent: null,
      memory: null,
      disk: null,
      network: null,
      temperatureCelsius: null,
    });
    await box.services.sampler!.sampleOnce();
    const now = (
      await box.app.inject({ method: 'GET', url: '/api/v1/box/metrics', headers: as(admin) })
    ).json<{
      memory: { usedBytes: number; totalBytes: number };
      disk: { totalBytes: number };
      temperatureCelsius: number | null;
    }>();
    expect(now.memory.usedBytes).toBeGreaterThan(0);
    expect(now.memory.usedBytes).toBeLessThan(now.memory.totalBytes);
    expect(now.disk.totalBytes).toBeGreaterThan(0);
    expect(
      now.temperatureCelsius === null ||
        (now.temperatureCelsius > 0 && now.temperatureCelsius < 150),
    ).toBe(true);
  });

  it('serves history per resolution, and a VM series only to who may view the VM', async () => {
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-metrics-web-1', { owner: admin.userId }),
      null,
    );
    await box.services.sampler!.sampleOnce();
    await box.services.sampler!.sampleOnce();
    const index = (
      await box.app.inject({ method: 'GET', url: '/api/v1/history/metrics', headers: as(admin) })
    ).json<{ metrics: string[]; resolutions: { name: string }[] }>();
    expect(index.metrics).toEqual(
      expect.arrayContaining(['host.cpu', 'host.memory.used', `vm.${vm.id}.memory`]),
    );
    expect(index.resolutions.map((resolution) => resolution.name)).toEqual([
      '10s',
      '1m',
      '15m',
      '1d',
    ]);

    const series = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/history?metric=host.memory.used&resolution=1m',
        headers: as(admin),
      })
    ).json<{ stepSeconds: number; points: { value: number | null }[] }>();
    expect(series.stepSeconds).toBe(60);
    expect(series.points.some((point) => point.value !== null && point.value > 0)).toBe(true);
    const memory = (
      await box.app.inject({
        method: 'GET',
        url: `/api/v1/history?metric=vm.${vm.id}.memory`,
        headers: as(admin),
      })
    ).json<{ points: { value: number | null }[] }>();
    expect(memory.points.some((point) => point.value === 128)).toBe(true); // the test driver reports the domain's memory

    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'operator' },
    });
    const olga = await login(box.app, 'olga', 'long enough password');
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: `/api/v1/history?metric=vm.${vm.id}.memory`,
          headers: as(olga),
        })
      ).json(),
    ).toMatchObject({ error: { code: 'METRIC_NOT_FOUND' } });
    expect(
      (await box.app.inject({ method: 'GET', url: '/api/v1/history/metrics', headers: as(olga) }))
        .json<{ metrics: string[] }>()
        .metrics.some((metric) => metric.startsWith('vm.')),
    ).toBe(false);
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/history?metric=host.nothing',
          headers: as(admin),
        })
      ).json(),
    ).toMatchObject({ error: { code: 'METRIC_NOT_FOUND' } });
  });
});

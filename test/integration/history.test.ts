import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricsSampler, sampleHost, type VmUsage } from '../../appliance/src/host/metrics.ts';
import { History } from '../../appliance/src/store/history.ts';
import { tempDir } from '../fixtures/appliance.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function scratch(): Promise<string> {
  const directory = await tempDir('bivouac-history-');
  cleanup.push(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

describe('host metrics on this machine', () => {
  it('samples the real host: figures in sane ranges, temperature measured or null', async () => {
    const dataDir = await scratch();
    const first = await sampleHost({ dataDir });
    expect(first.cpuPercent).not.toBeNull();
    expect(first.cpuPercent!).toBeGreaterThanOrEqual(0);
    expect(first.cpuPercent!).toBeLessThanOrEqual(100);
    expect(first.memory!.totalBytes).toBeGreaterThan(64 * 1024 * 1024);
    expect(first.memory!.usedBytes).toBeGreaterThan(0);
    expect(first.memory!.usedBytes).toBeLessThanOrEqual(first.memory!.totalBytes);
    expect(first.disk!.totalBytes).toBeGreaterThan(0);
    expect(first.disk!.usedBytes).toBeGreaterThanOrEqual(0);
    expect(first.disk!.usedBytes).toBeLessThanOrEqual(first.disk!.totalBytes);
    expect(dataDir.startsWith(first.disk!.mount) || first.disk!.mount === '/').toBe(true);
    // A box has a physical interface (a `device` link in sysfs); rates need two samples: none
    // invented on the first.
    expect(first.network).not.toBeNull();
    expect([first.network!.rxBytesPerSecond, first.network!.txBytesPerSecond]).toEqual([
      null,
      null,
    ]);
    const temperature = first.temperatureCelsius;
    expect(temperature === null || (temperature > 0 && temperature < 150)).toBe(true);

    await new Promise((done) => setTimeout(done, 300));
    const second = await sampleHost({ dataDir, previous: first.network!.counters });
    expect(second.network!.rxBytesPerSecond).toBeGreaterThanOrEqual(0);
    expect(second.network!.txBytesPerSecond).toBeGreaterThanOrEqual(0);
  });

  it('records host and VM series every interval until stopped', async () => {
    const directory = await scratch();
    const history = await History.open({ directory: join(directory, 'history') });
    cleanup.push(async () => history.close());
    // Stands in for libvirt's per-domain figures until the connector feeds them.
    const vmUsage = async (): Promise<VmUsage[]> => [
      { vmId: 'vm1', cpuPercent: 12.5, memoryMiB: 512 },
      { vmId: 'vm2', cpuPercent: null, memoryMiB: 1024 },
    ];
    const sampler = new MetricsSampler({ dataDir: directory, history, intervalMs: 250, vmUsage });
    const stop = sampler.start();
    await expect
      .poll(() => history.query('host.cpu', '10s')?.some((point) => point.value !== null), {
        timeout: 10_000,
      })
      .toBe(true);
    // Every series gets its points; then the sampler stops.
    await expect
      .poll(() => history.metrics(), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          'host.cpu',
          'host.memory.used',
          'host.disk.used',
          'host.net.rx',
          'host.net.tx',
          'host.temperature',
          'vm.vm1.cpu',
          'vm.vm1.memory',
          'vm.vm2.cpu',
          'vm.vm2.memory',
        ]),
      );
    const latest = (metric: string) => history.query(metric, '1m')?.at(-1);
    await expect
      .poll(() => latest('vm.vm1.memory'), { timeout: 10_000 })
      .toMatchObject({ value: 512, min: 512, max: 512 });
    await expect
      .poll(() => latest('vm.vm2.cpu'), { timeout: 10_000 })
      .toMatchObject({ value: null });
    await stop();

    const host = sampler.latest!;
    const memoryPoint = history.query('host.memory.used', '10s', host.timeMs, host.timeMs)![0]!;
    expect(memoryPoint.min!).toBeLessThanOrEqual(host.memory!.usedBytes);
    expect(memoryPoint.max!).toBeGreaterThanOrEqual(host.memory!.usedBytes);
    const temperatures = history.query('host.temperature', '1m')!.map((point) => point.value);
    if (host.temperatureCelsius === null)
      expect(temperatures.every((value) => value === null)).toBe(true);
    else expect(temperatures.at(-1)).toEqual(expect.any(Number));
    // After stop, nothing more arrives.
    const count = history.query('host.cpu', '10s')!.filter((point) => point.value !== null).length;
    await new Promise((done) => setTimeout(done, 600));
    expect(history.query('host.cpu', '10s')!.filter((point) => point.value !== null).length).toBe(
      count,
    );
  });

  it('keeps every recorded sample when the process is killed outright', async () => {
    const directory = await scratch();
    const script = join(directory, 'writer.mts');
    const historyModule = resolve('appliance/src/store/history.ts');
    await writeFile(
      script,
      `import { History } from ${JSON.stringify(historyModule)};
const history = await History.open({ directory: ${JSON.stringify(join(directory, 'history'))}, syncIntervalMs: 0 });
const start = Date.UTC(2025, 0, 1);
for (let index = 0; ; index += 1) {
  await history.record(start + index * 10_000, { 'host.cpu': index % 100, 'vm.a.memory': index });
  process.stdout.write(index + '\\n');
  await new Promise((done) => setImmediate(done));
}
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acknowledged = -1;
    for await (const line of createInterface({ input: child.stdout })) {
      acknowledged = Number(line);
      if (acknowledged >= 500) {
        child.kill('SIGKILL');
        break;
      }
    }
    await new Promise((done) => child.once('exit', done));
    expect(acknowledged).toBeGreaterThanOrEqual(500);

    // The writer may have recorded a few more than the parent read before the kill: the day's
    // maximum says how far it got, and everything up to there must be back.
    const start = Date.UTC(2025, 0, 1);
    const probe = await History.open({ directory: join(directory, 'history'), now: () => start });
    const day = probe.query('vm.a.memory', '1d', start, start)![0]!;
    probe.close();
    const lastWritten = day.max!;
    expect(lastWritten).toBeGreaterThanOrEqual(acknowledged);
    expect(day.min).toBe(0);
    expect(day.value).toBeCloseTo(lastWritten / 2, 9);

    // The sample in flight at the kill (never acknowledged) may have reached the 10 s ring and
    // not the day's: its slot then holds it, otherwise nothing. Every sample before it is there.
    const reopened = await History.open({
      directory: join(directory, 'history'),
      now: () => start + (lastWritten + 1) * 10_000,
    });
    cleanup.push(async () => reopened.close());
    const memory = reopened.query('vm.a.memory', '10s')!.map((point) => point.value);
    expect(memory).toHaveLength(360);
    expect(memory.slice(0, 359)).toEqual(
      Array.from({ length: 359 }, (_, i) => lastWritten - 358 + i),
    );
    expect([null, lastWritten + 1]).toContain(memory[359]);
  });
});

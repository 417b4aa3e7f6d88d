/**
 * Writing one metric sample into a history that holds a full year, on the data's disk
 * (`benchDiskDir`: never a file system in memory, where fsync is free; the file system is logged):
 * - p50 and p99 latency of `await history.record(…)` with every host metric and 8 VMs
 *   (6 + 16 = 22 series, each written in place at all four resolutions), target < 2 ms;
 * - the total size of the history files (context: fixed, whatever the data);
 * - the batched fsync of the 22 files after one sample, off the write path (context).
 * The year is filled with just enough samples to claim every slot of every ring (a day apart for
 * the year, 15 min apart for the month, a minute apart for the day, 10 s apart for the hour),
 * then the history is closed and opened again, as after a restart.
 */
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { resolutions } from '../../appliance/src/store/history-file.ts';
import { History } from '../../appliance/src/store/history.ts';
import { benchDiskDir } from './disk-dir.ts';
import { emit, percentile } from './lib.ts';

const vmCount = 8;
const measuredSamples = 2000;
const secondMs = 1000;

function sampleValues(index: number): Record<string, number | null> {
  const values: Record<string, number | null> = {
    'host.cpu': (index * 7) % 100,
    'host.memory.used': 8e9 + (index % 1000) * 1e6,
    'host.disk.used': 2e11 + index * 4096,
    'host.net.rx': (index * 1337) % 1e7,
    'host.net.tx': (index * 911) % 1e7,
    'host.temperature': null,
  };
  for (let vm = 0; vm < vmCount; vm += 1) {
    values[`vm.vm${vm}.cpu`] = (index + vm) % 100;
    values[`vm.vm${vm}.memory`] = 1024 * (vm + 1);
  }
  return values;
}

/** Times, oldest first, that land in every slot of every ring up to `endMs`. */
function fillTimes(endMs: number): number[] {
  const times = new Set<number>();
  for (const ring of [...resolutions].reverse()) {
    const stepMs = ring.stepSeconds * secondMs;
    const newest = Math.floor(endMs / stepMs) * stepMs;
    for (let slot = ring.slots - 1; slot >= 0; slot -= 1) times.add(newest - slot * stepMs);
  }
  return [...times].sort((a, b) => a - b);
}

const { directory } = await benchDiskDir('history-write-');
try {
  const yearEnd = Math.floor(Date.now() / 10_000) * 10_000;
  let clockMs = yearEnd;
  const now = () => clockMs;

  const filling = await History.open({ directory, now, syncIntervalMs: 0 });
  const times = fillTimes(yearEnd);
  for (const [index, time] of times.entries()) await filling.record(time, sampleValues(index));
  filling.close();

  const openStarted = performance.now();
  const history = await History.open({ directory, now });
  const openMs = performance.now() - openStarted;
  const seriesCount = history.metrics().length;
  for (const ring of resolutions) {
    const points = history.query('vm.vm7.memory', ring.name)!;
    const filled = points.filter((point) => point.value !== null).length;
    if (filled !== ring.slots)
      throw new Error(`ring ${ring.name} holds ${filled} of ${ring.slots} points`);
  }

  const latencies: number[] = [];
  for (let index = 0; index < measuredSamples; index += 1) {
    clockMs += 10_000;
    const values = sampleValues(index);
    const started = performance.now();
    await history.record(clockMs, values);
    latencies.push(performance.now() - started);
  }
  const syncs: number[] = [];
  for (let round = 0; round < 20; round += 1) {
    clockMs += 10_000;
    await history.record(clockMs, sampleValues(round));
    const started = performance.now();
    await history.syncDirty();
    syncs.push(performance.now() - started);
  }
  const sizeBytes = await history.sizeBytes();
  history.close();

  process.stderr.write(
    `${seriesCount} series, ${times.length} fill samples, reopened in ${openMs.toFixed(1)} ms, ${measuredSamples} timed samples\n`,
  );
  emit('history-write-p50', percentile(latencies, 50), 'ms', '<2');
  emit('history-write-p99', percentile(latencies, 99), 'ms', '<2');
  emit('history-files-size', sizeBytes / (1024 * 1024), 'MiB', null);
  emit('history-open-full-year', openMs, 'ms', null);
  emit('history-sync-batch-p50', percentile(syncs, 50), 'ms', null);
} finally {
  await rm(directory, { recursive: true, force: true });
}

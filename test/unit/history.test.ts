import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { historyFileBytes } from '../../appliance/src/store/history-file.ts';
import { History, type HistoryLog } from '../../appliance/src/store/history.ts';
import { tempDir } from '../fixtures/appliance.ts';

/** A clock the test moves by hand; history times are ms since the epoch. */
function manualClock(startMs: number) {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    set: (ms: number) => (nowMs = ms),
  };
}

// 2025-01-01T00:00:00Z: a day, 15-minute, minute and 10-second boundary at once.
const dayStart = Date.UTC(2025, 0, 1);
const opened: History[] = [];

async function openHistory(
  directory: string,
  now: () => number,
  log?: HistoryLog,
): Promise<History> {
  const history = await History.open({
    directory,
    now,
    syncIntervalMs: 0,
    ...(log ? { log } : {}),
  });
  opened.push(history);
  return history;
}

afterEach(() => {
  for (const history of opened.splice(0)) history.close();
});

describe('history', () => {
  it('aggregates every sample into each resolution: mean, min and max per period', async () => {
    const clock = manualClock(dayStart);
    const history = await openHistory(await tempDir(), clock.now);
    // Two minutes of 10 s samples: 0..5 in the first minute, 10..15 in the second.
    for (let index = 0; index < 12; index += 1) {
      const time = dayStart + index * 10_000;
      clock.set(time);
      await history.record(time, { 'host.cpu': index < 6 ? index : index + 4 });
    }

    const tenSeconds = history.query('host.cpu', '10s', dayStart)!;
    expect(tenSeconds).toHaveLength(12);
    expect(tenSeconds[0]).toEqual({ t: dayStart, value: 0, min: 0, max: 0 });
    expect(tenSeconds[11]).toEqual({ t: dayStart + 110_000, value: 15, min: 15, max: 15 });

    expect(history.query('host.cpu', '1m', dayStart)).toEqual([
      { t: dayStart, value: 2.5, min: 0, max: 5 },
      { t: dayStart + 60_000, value: 12.5, min: 10, max: 15 },
    ]);
    expect(history.query('host.cpu', '15m', dayStart)).toEqual([
      { t: dayStart, value: 7.5, min: 0, max: 15 },
    ]);
    expect(history.query('host.cpu', '1d', dayStart)).toEqual([
      { t: dayStart, value: 7.5, min: 0, max: 15 },
    ]);
  });

  it('keeps not-available as null, not 0, and averages only what was measured', async () => {
    const clock = manualClock(dayStart + 30_000);
    const history = await openHistory(await tempDir(), clock.now);
    await history.record(dayStart, { 'host.temperature': null, 'host.cpu': 40 });
    await history.record(dayStart + 10_000, { 'host.temperature': null, 'host.cpu': null });
    await history.record(dayStart + 20_000, { 'host.temperature': null, 'host.cpu': 60 });

    expect(history.query('host.temperature', '10s', dayStart)!.map((point) => point.value)).toEqual(
      [null, null, null, null],
    );
    expect(history.query('host.temperature', '1d', dayStart)).toEqual([
      { t: dayStart, value: null, min: null, max: null },
    ]);
    expect(history.query('host.cpu', '10s', dayStart)!.map((point) => point.value)).toEqual([
      40,
      null,
      60,
      null,
    ]);
    expect(history.query('host.cpu', '1m', dayStart)).toEqual([
      { t: dayStart, value: 50, min: 40, max: 60 },
    ]);
    expect(history.query('host.unknown', '1m')).toBeNull();
  });

  it('wraps each ring around: the newest lap wins and an older lap never shows through', async () => {
    const clock = manualClock(dayStart);
    const history = await openHistory(await tempDir(), clock.now);
    // 400 samples: 40 more than the 10 s ring holds.
    for (let index = 0; index < 400; index += 1) {
      await history.record(dayStart + index * 10_000, { 'host.cpu': index });
    }
    clock.set(dayStart + 399 * 10_000);
    const ring = history.query('host.cpu', '10s')!;
    expect(ring).toHaveLength(360);
    expect(ring[0]).toMatchObject({ t: dayStart + 40 * 10_000, value: 40 });
    expect(ring.at(-1)).toMatchObject({ t: dayStart + 399 * 10_000, value: 399 });
    // Asking for the overwritten lap gives nothing from the new lap.
    expect(history.query('host.cpu', '10s', dayStart, dayStart + 30 * 10_000)).toEqual([]);

    // An hour later with nothing recorded in between: the slots hold the old lap, which reads as null.
    clock.set(dayStart + 399 * 10_000 + 3_600_000);
    await history.record(clock.now(), { 'host.cpu': null });
    const later = history.query('host.cpu', '10s')!;
    expect(later).toHaveLength(360);
    expect(later.every((point) => point.value === null)).toBe(true);
    // The minute ring still holds the first hour.
    expect(history.query('host.cpu', '1m', dayStart, dayStart)).toEqual([
      { t: dayStart, value: 2.5, min: 0, max: 5 },
    ]);
  });

  it('survives a reopen and keeps aggregating into the same period', async () => {
    const directory = await tempDir();
    const clock = manualClock(dayStart + 50_000);
    const first = await openHistory(directory, clock.now);
    await first.record(dayStart, { 'host.cpu': 10, 'vm.abc.cpu': 1 });
    await first.record(dayStart + 10_000, { 'host.cpu': 20, 'vm.abc.cpu': 2 });
    first.close();

    const second = await openHistory(directory, clock.now);
    expect(second.metrics()).toEqual(['host.cpu', 'vm.abc.cpu']);
    expect(
      second.query('host.cpu', '10s', dayStart, dayStart + 10_000)!.map((point) => point.value),
    ).toEqual([10, 20]);
    await second.record(dayStart + 20_000, { 'host.cpu': 60 });
    expect(second.query('host.cpu', '1m', dayStart)).toEqual([
      { t: dayStart, value: 30, min: 10, max: 60 },
    ]);
    const files = await readdir(directory);
    expect(files.sort()).toEqual(['host.cpu.hist', 'vm.abc.cpu.hist']);
    for (const file of files)
      expect((await readFile(join(directory, file))).length).toBe(historyFileBytes);
  });

  it('moves a truncated or corrupt file aside, says so, and starts that series empty', async () => {
    const directory = await tempDir();
    const clock = manualClock(dayStart);
    const history = await openHistory(directory, clock.now);
    await history.record(dayStart, {
      'host.cpu': 10,
      'host.memory.used': 2048,
      'host.disk.used': 5,
      'host.net.rx': 7,
    });
    history.close();

    await truncate(join(directory, 'host.cpu.hist'), 1000);
    const garbled = await readFile(join(directory, 'host.memory.used.hist'));
    garbled.write('{"format":"something else"', 0);
    await writeFile(join(directory, 'host.memory.used.hist'), garbled);
    // A slot no write could have produced: a period that does not belong in its slot.
    const badSlot = await readFile(join(directory, 'host.disk.used.hist'));
    badSlot.writeUInt32LE(12_345, 512);
    await writeFile(join(directory, 'host.disk.used.hist'), badSlot);
    await writeFile(join(directory, '.host.net.tx.hist.tmp'), 'half-made');

    const logged: Array<{ level: string; details: Record<string, unknown> }> = [];
    const reopened = await openHistory(directory, clock.now, (level, details) =>
      logged.push({ level, details }),
    );
    expect(reopened.metrics()).toEqual(['host.net.rx']);
    expect(logged.map((entry) => [entry.level, entry.details.metric])).toEqual([
      ['error', 'host.cpu'],
      ['error', 'host.disk.used'],
      ['error', 'host.memory.used'],
    ]);
    expect(logged[0]!.details.problem).toMatch(/^size 1000/);
    const files = (await readdir(directory)).sort();
    expect(files.filter((file) => file.includes('.corrupt-'))).toHaveLength(3);
    expect(files).not.toContain('.host.net.tx.hist.tmp');

    await reopened.record(dayStart + 10_000, { 'host.cpu': 30 });
    expect(reopened.query('host.cpu', '1m', dayStart)).toEqual([
      { t: dayStart, value: 30, min: 30, max: 30 },
    ]);
    expect(reopened.query('host.net.rx', '1m', dayStart)).toEqual([
      { t: dayStart, value: 7, min: 7, max: 7 },
    ]);
  });

  it('forgets the series of a VM that is gone, files included', async () => {
    const directory = await tempDir();
    const history = await openHistory(directory, () => dayStart);
    await history.record(dayStart, {
      'host.cpu': 1,
      'vm.a.cpu': 2,
      'vm.a.memory': 512,
      'vm.ab.cpu': 3,
    });
    expect(await history.forget('vm.a.')).toEqual(['vm.a.cpu', 'vm.a.memory']);
    expect(history.metrics()).toEqual(['host.cpu', 'vm.ab.cpu']);
    expect((await readdir(directory)).sort()).toEqual(['host.cpu.hist', 'vm.ab.cpu.hist']);
    expect(await history.sizeBytes()).toBe(2 * historyFileBytes);
  });

  it('refuses a metric name that cannot be a file name', async () => {
    const history = await openHistory(await tempDir(), () => dayStart);
    await expect(history.record(dayStart, { 'vm/../../etc.cpu': 1 })).rejects.toThrow(
      /invalid metric name/,
    );
    await expect(history.record(dayStart, { 'vm..cpu': 1 })).rejects.toThrow(/invalid metric name/);
    expect(history.metrics()).toEqual([]);
  });
});

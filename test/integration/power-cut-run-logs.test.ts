import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { NumberedEntry } from '../../appliance/src/domain/runs.ts';
import { RunLogs } from '../../appliance/src/store/run-logs.ts';
import { everyCut, opens, recordIn, scratchDir } from '../fixtures/power-cut-cases.ts';

// Every fs call of the run logs goes through the power-cut model's recorder.
vi.mock('node:fs', async (importOriginal) =>
  (await import('../fixtures/power-cut-model.ts')).interposeFs(await importOriginal()),
);
vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../fixtures/power-cut-model.ts')).interposeFsPromises(await importOriginal()),
);

const runId = 'r-power';
const rotateBytes = 2000;

function entry(seq: number): NumberedEntry {
  return {
    seq,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    actor: 'appliance',
    action: 'step',
    detail: `entry ${seq} ${'x'.repeat(120)}`,
  };
}

function entries(from: number, to: number): NumberedEntry[] {
  return Array.from({ length: to - from + 1 }, (_, index) => entry(from + index));
}

describe('power-cut model (a stand-in for a real power loss, which cannot run here)', () => {
  it("a run's log file: a power cut anywhere while appending and rotating keeps every acknowledged entry not rotated away, whole and in order, and the entries the main document still holds go back once", async () => {
    // What it promises (run-logs.ts): an append is durable when it resolves; a torn line is cut
    // off at the next open; appending entries the file holds again doubles nothing.
    const root = await scratchDir();
    const directory = join(root, 'run-logs');
    // Entries of an earlier start, on disk before the recording.
    const earlier = await RunLogs.open(directory, { rotateBytes });
    await earlier.append(runId, entries(1, 3));
    const recording = recordIn(root);
    const logs = await RunLogs.open(directory, { rotateBytes });
    let last = 3;
    for (const size of [1, 2, 3, 1, 4, 2]) {
      // The main document holds the entries of the change before too, until it drops them.
      await logs.append(runId, entries(Math.max(1, last - 1), last + size));
      last += size;
      recording.acknowledge(String(last));
    }

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      const options = { rotateBytes };
      const reopened = await opens(RunLogs.open(join(folder, 'run-logs'), options), at);
      const read = await reopened.read(runId, 1000);
      const first = read[0]?.seq ?? 1;
      expect(read, `${at}: whole entries, in order, none twice`).toEqual(
        entries(first, first + read.length - 1),
      );
      const acknowledged = Math.max(3, ...cut.acknowledged.map(Number));
      expect(
        read.at(-1)?.seq ?? 0,
        `${at}: every acknowledged entry is there`,
      ).toBeGreaterThanOrEqual(acknowledged);
      // The main document's entries (some the file holds) and a new one go in once, after a torn
      // line if any.
      const next = (read.at(-1)?.seq ?? 0) + 1;
      await reopened.append(runId, entries(Math.max(1, acknowledged - 1), next));
      const after = await reopened.read(runId, 1000);
      const from = after[0]!.seq;
      expect(after, `${at}: appended again, nothing doubled`).toEqual(entries(from, next));
    });
    const torn = cuts.filter((cut) =>
      cut.survivors
        .get(join('run-logs', `${runId}.log`))
        ?.toString()
        .match(/[^\n]$/),
    );
    expect(torn.length, 'cuts with a torn last line').toBeGreaterThan(0);
    expect(
      recording.operations.some(
        (operation) => operation.kind === 'rename' && operation.to.endsWith(`${runId}.1.log`),
      ),
      'the recording rotated the file',
    ).toBe(true);
  });
});

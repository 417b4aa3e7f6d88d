import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { migrations } from '../../appliance/migrations/index.ts';
import type { Migration } from '../../appliance/src/store/document.ts';
import { makeDirectoryDurably } from '../../appliance/src/store/durable-json-file.ts';
import { EventLog } from '../../appliance/src/store/event-log.ts';
import { History } from '../../appliance/src/store/history.ts';
import { ensureTlsIdentity } from '../../appliance/src/host/tls.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { everyCut, opens, recordIn, scratchDir } from '../fixtures/power-cut-cases.ts';
import { testEvent } from '../fixtures/sse.ts';

// Every fs call of the store, the event log and the history goes through the power-cut model's
// recorder; outside a recording it passes straight through.
vi.mock('node:fs', async (importOriginal) =>
  (await import('../fixtures/power-cut-model.ts')).interposeFs(await importOriginal()),
);
vi.mock('node:fs/promises', async (importOriginal) =>
  (await import('../fixtures/power-cut-model.ts')).interposeFsPromises(await importOriginal()),
);

const fixedNow = () => new Date(Date.UTC(2026, 0, 1));

function token(name: string) {
  return {
    id: name,
    userId: 'user',
    name,
    tokenHash: `hash-${name}`,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('power-cut model (a stand-in for a real power loss, which cannot run here)', () => {
  it('the main document: a power cut anywhere in a first start, changes and a restart keeps every acknowledged change', async () => {
    const root = await scratchDir();
    const dataDir = join(root, 'data');
    const recording = recordIn(root);
    const first = await openStore(dataDir, migrations, fixedNow);
    await first.store.update((draft) => draft.apiTokens.push(token('one')));
    recording.acknowledge('one');
    // A burst written together (coalesced); each is acknowledged as its own promise resolves.
    await Promise.all(
      ['two', 'three', 'four'].map(async (name) => {
        await first.store.update((draft) => draft.apiTokens.push(token(name)));
        recording.acknowledge(name);
      }),
    );
    const second = await openStore(dataDir, migrations, fixedNow);
    await second.store.update((draft) => draft.apiTokens.push(token('five')));
    recording.acknowledge('five');

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      const { store } = await opens(openStore(join(folder, 'data'), migrations, fixedNow), at);
      expect(
        store.data.apiTokens.map((entry) => entry.name),
        `${at}: every acknowledged change is there`,
      ).toEqual(expect.arrayContaining(cut.acknowledged));
      await store.flush();
    });
    expect(cuts.at(-1)!.acknowledged).toEqual(['one', 'two', 'three', 'four', 'five']);
  });

  it('the main document: a power cut anywhere in a restart and a migration keeps the document and its pre-migration backup whole', async () => {
    const root = await scratchDir();
    const dataDir = join(root, 'data');
    const older: readonly Migration[] = migrations.slice(0, -1);
    const latest = migrations.at(-1)!.version;
    // Before the recording, so on disk (rule 1): a store one schema version behind.
    const seeded = await openStore(dataDir, older, fixedNow);
    await seeded.store.update((draft) => draft.apiTokens.push(token('before')));
    const recording = recordIn(root);
    await openStore(dataDir, older, () => new Date(Date.UTC(2026, 0, 2)));
    const migrated = await openStore(dataDir, migrations, () => new Date(Date.UTC(2026, 0, 3)));
    recording.acknowledge('migrated');
    await migrated.store.update((draft) => draft.apiTokens.push(token('after')));
    recording.acknowledge('after');

    await everyCut(recording, async (folder, cut, at) => {
      const backups = await readdir(join(folder, 'data', 'backups'));
      const later = () => new Date(Date.UTC(2026, 0, 4));
      const { store } = await opens(openStore(join(folder, 'data'), migrations, later), at);
      expect(
        store.data.apiTokens.map((entry) => entry.name),
        `${at}: every acknowledged change is there`,
      ).toEqual(
        expect.arrayContaining([
          'before',
          ...cut.acknowledged.filter((what) => what !== 'migrated'),
        ]),
      );
      await store.flush();
      const onDisk = JSON.parse(cut.survivors.get(join('data', 'bivouac.json'))!.toString()) as {
        schemaVersion: number;
      };
      if (cut.acknowledged.includes('migrated'))
        expect(onDisk.schemaVersion, `${at}: the migration is on disk`).toBe(latest);
      for (const name of backups) {
        const text = cut.survivors.get(join('data', 'backups', name))!.toString();
        expect(() => JSON.parse(text), `${at}: backup ${name} is a whole document`).not.toThrow();
      }
      if (onDisk.schemaVersion === latest) {
        const before = backups.filter((name) =>
          name.endsWith(`.v${latest - 1}.pre-migration.json`),
        );
        expect(before, `${at}: the document before the migration is kept`).toHaveLength(1);
        const kept = JSON.parse(
          cut.survivors.get(join('data', 'backups', before[0]!))!.toString(),
        ) as { apiTokens: { name: string }[] };
        expect(
          kept.apiTokens.map((entry) => entry.name),
          `${at}: the pre-migration backup holds the old document`,
        ).toEqual(['before']);
      }
    });
  });

  it('the event log: a power cut anywhere while appending and rotating leaves a log that opens with whole events, and never gives an id twice', async () => {
    // What it promises (event-log.ts): "Events are not fsynced one by one; a torn last line is
    // skipped on recovery", "A torn last line (power cut mid-append) is skipped, not fatal", and
    // "Numbering survives restarts … and power cuts … so an id a client has seen never names
    // another event". No event is promised to survive a power cut.
    const root = await scratchDir();
    const directory = join(root, 'events');
    const rotateBytes = 1500;
    const event = (index: number) =>
      testEvent(
        'test.power-cut',
        String(index),
        { owner: 'user', acl: [] },
        {
          index,
          padding: 'x'.repeat(150),
        },
      );
    // Events from an earlier start, on disk before the recording (rule 1).
    const earlier = await EventLog.open({ directory, rotateBytes });
    const appended = [0, 1, 2].map((index) => earlier.append(event(index)));
    earlier.close();
    const recording = recordIn(root);
    const log = await EventLog.open({ directory, rotateBytes });
    for (let index = 3; index < 15; index += 1) {
      appended.push(log.append(event(index)));
      // Not a promise of durability: the id was given out, and a client may have seen it.
      recording.acknowledge(String(appended.at(-1)!.id));
    }
    log.close();

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      const options = { directory: join(folder, 'events'), rotateBytes };
      const reopened = await opens(EventLog.open(options), at);
      const recovered = replayWindow(reopened);
      const first = appended.findIndex((kept) => kept.id === recovered[0]?.id);
      expect(recovered, `${at}: whole events, in order, as appended`).toEqual(
        appended.slice(first, first + recovered.length),
      );
      const lastId = reopened.latestId;
      const lastSeen = Math.max(2, ...cut.acknowledged.map(Number));
      const next = reopened.append(event(99));
      expect(next.id, `${at}: the next id was never given out`).toBeGreaterThan(lastSeen);
      const replayed = reopened.since(lastSeen);
      expect(
        replayed === null || replayed.includes(next),
        `${at}: a client that saw id ${lastSeen} replays the next event or is told to reload`,
      ).toBe(true);
      reopened.close();
      const restarted = await EventLog.open(options);
      expect(restarted.since(lastId), `${at}: the next event is whole after a restart`).toEqual([
        next,
      ]);
      restarted.close();
    });
    // Some cuts did tear a line mid-append, and the recording did rotate the file.
    const torn = cuts.filter((cut) =>
      cut.survivors
        .get(join('events', 'events.jsonl'))
        ?.toString()
        .match(/[^\n]$/),
    );
    expect(torn.length, 'cuts with a torn last line').toBeGreaterThan(0);
    expect(
      recording.operations.some(
        (operation) => operation.kind === 'rename' && operation.to.endsWith('events.jsonl.1'),
      ),
    ).toBe(true);
  });

  it('the metric history: a power cut anywhere loses at most the samples since the last sync, and every file opens whole', async () => {
    // What it promises (history.ts): "the files are fsynced in one batch every syncIntervalMs
    // and on close. After a power cut at most the samples since the last batch are lost; the
    // files stay well-formed because the header is only ever written whole (temp file, fsync,
    // rename) and slots are independent."
    const root = await scratchDir();
    const directory = join(root, 'history');
    const dayStart = Date.UTC(2025, 0, 1);
    let now = dayStart;
    const recording = recordIn(root);
    const history = await History.open({ directory, syncIntervalMs: 0, now: () => now });
    const pending: string[] = [];
    const sample = async (step: number, values: Record<string, number>) => {
      now = dayStart + step * 10_000;
      await history.record(now, values);
      for (const [metric, value] of Object.entries(values))
        pending.push(`${metric}@${now}=${value}`);
    };
    const acknowledgePending = () =>
      pending.splice(0).forEach((what) => recording.acknowledge(what));
    await sample(0, { 'host.cpu': 1 });
    await sample(1, { 'host.cpu': 2, 'host.memory': 50 });
    await history.syncDirty();
    acknowledgePending();
    await sample(2, { 'host.cpu': 3 });
    await sample(3, { 'host.memory': 60, 'vm.one.cpu': 7 });
    await history.syncDirty();
    acknowledgePending();
    await sample(4, { 'host.cpu': 4 });
    history.close();
    acknowledgePending();

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      const movedAside: unknown[] = [];
      const reopened = await opens(
        History.open({
          directory: join(folder, 'history'),
          syncIntervalMs: 0,
          now: () => now,
          log: (level, details) => level === 'error' && movedAside.push(details),
        }),
        at,
      );
      expect(movedAside, `${at}: no file is corrupt`).toEqual([]);
      for (const what of cut.acknowledged) {
        const [, metric, time, value] = /^(.+)@(\d+)=(.+)$/.exec(what)!;
        const points = reopened.query(metric!, '10s', Number(time), Number(time));
        expect(points?.[0]?.value, `${at}: synced sample ${what} is kept`).toBe(Number(value));
      }
      reopened.close();
    });
    expect(cuts.at(-1)!.acknowledged).toHaveLength(7);
  });
  it('a durable folder: once made, a power cut keeps it, also when an earlier start made it and was cut before syncing the folder holding it', async () => {
    const root = await scratchDir();
    await mkdir(join(root, 'data'));
    const recording = recordIn(root);
    // An earlier start: the folder is made, its name not yet on disk.
    await mkdir(join(root, 'data', 'events'));
    await makeDirectoryDurably(`${root}//data/./events`);
    recording.acknowledge('made');

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      if (cut.acknowledged.length > 0)
        expect(
          await readdir(join(folder, 'data')).catch(() => []),
          `${at}: the folder is kept`,
        ).toContain('events');
    });
    expect(cuts.at(-1)!.acknowledged).toEqual(['made']);
  });

  it('the HTTPS identity: once made and its fingerprint shown, a power cut anywhere keeps it', async () => {
    const dataDir = await scratchDir();
    const recording = recordIn(dataDir);
    const made = await ensureTlsIdentity(dataDir);
    recording.acknowledge(made.fingerprint);

    const cuts = await everyCut(recording, async (folder, cut, at) => {
      const identity = await opens(ensureTlsIdentity(folder), at);
      if (cut.acknowledged.length > 0)
        expect(identity.fingerprint, `${at}: the fingerprint shown is kept`).toBe(made.fingerprint);
    });
    expect(cuts.at(-1)!.acknowledged).toEqual([made.fingerprint]);
  });
});

describe('power-cut model', () => {
  it('refuses a change it does not model, and a write to a file opened before the recording', async () => {
    const root = await scratchDir();
    const openedBefore = openSync(join(root, 'earlier'), 'w');
    recordIn(root);
    expect(() => writeFile(join(root, 'new'), 'text')).toThrow(/does not model fs.writeFile/);
    expect(() => writeSync(openedBefore, 'text')).toThrow(/opened before the recording/);
    closeSync(openedBefore);
  });
});

/** The events an opened log replays from its window, oldest first. */
function replayWindow(log: EventLog) {
  for (let after = 0; after <= log.latestId; after += 1) {
    const events = log.since(after);
    if (events) return events;
  }
  return [];
}

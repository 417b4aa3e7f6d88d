import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../appliance/migrations/index.ts';
import type { Migration } from '../../appliance/src/store/document.ts';
import {
  DurableJsonFile,
  writeFileDurablySync,
} from '../../appliance/src/store/durable-json-file.ts';
import { EventLog } from '../../appliance/src/store/event-log.ts';
import { testEvent } from '../fixtures/sse.ts';
import { openStore, StoreOpenError } from '../../appliance/src/store/open-store.ts';
import { Store } from '../../appliance/src/store/store.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { onSmallDisk } from '../fixtures/small-disk.ts';

const latest = migrations.at(-1)!.version;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function openIn(dir: string, list: readonly Migration[] = migrations, at = new Date()) {
  const opened = await openStore(dir, list, () => at);
  cleanups.push(() => opened.store.flush());
  return opened;
}

describe('durable store', () => {
  it('acknowledges an update only once it is on disk, and leaves no temp file', async () => {
    const dir = await tempDir();
    const store = new Store(new DurableJsonFile<{ items: number[] }>(join(dir, 'doc.json')), {
      items: [],
    });
    await store.update((doc) => doc.items.push(1));
    expect(JSON.parse(await readFile(join(dir, 'doc.json'), 'utf8'))).toEqual({ items: [1] });
    expect(await readdir(dir)).toEqual(['doc.json']);
  });

  it('coalesces a burst: 100 concurrent updates cost at most two writes, all durable', async () => {
    const dir = await tempDir();
    const store = new Store(new DurableJsonFile<{ items: number[] }>(join(dir, 'doc.json')), {
      items: [],
    });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.update((doc) => doc.items.push(i))),
    );
    expect(store.writeCount).toBeLessThanOrEqual(2);
    expect(JSON.parse(await readFile(join(dir, 'doc.json'), 'utf8')).items).toHaveLength(100);
  });

  it('writes nothing when an update throws', async () => {
    const dir = await tempDir();
    const store = new Store(new DurableJsonFile<{ items: number[] }>(join(dir, 'doc.json')), {
      items: [],
    });
    await expect(
      store.update(() => {
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(store.writeCount).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('a disk that refuses the write', () => {
  it('undoes a change the full disk refused, and every change waiting with it, says NO_SPACE, and takes the next once there is room', async () => {
    // A real full disk: a 256 KiB tmpfs, mounted in a mount namespace of the child's own (as
    // root, or as a user where user namespaces are allowed), filled by a file that cannot grow.
    const report = await onSmallDisk(
      '256k',
      `import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DurableJsonFile } from ${JSON.stringify(join(process.cwd(), 'appliance/src/store/durable-json-file.ts'))};
import { Store } from ${JSON.stringify(join(process.cwd(), 'appliance/src/store/store.ts'))};
const disk = process.argv[2];
const file = join(disk, 'doc.json');
const store = new Store(new DurableJsonFile<{ items: number[] }>(file), { items: [] });
const outcome = (settled: PromiseSettledResult<unknown>) =>
  settled.status === 'fulfilled' ? 'saved' : (settled.reason as { code?: string }).code;
const report: Record<string, unknown> = {};
await store.update((draft) => void draft.items.push(1));
try { writeFileSync(join(disk, 'filler'), Buffer.alloc(1024 * 1024)); } catch (error) { report.filler = (error as NodeJS.ErrnoException).code; }
// One change written at once, two more waiting for the next write: all three are refused.
report.refused = (await Promise.allSettled([
  store.update((draft) => void draft.items.push(2)),
  store.update((draft) => void draft.items.push(3)),
  store.update((draft) => void draft.items.push(4)),
])).map(outcome);
report.inMemory = [...store.data.items];
report.onDisk = JSON.parse(readFileSync(file, 'utf8')).items;
report.files = readdirSync(disk).sort();
report.stillFull = outcome((await Promise.allSettled([store.update((draft) => void draft.items.push(5))]))[0]!);
rmSync(join(disk, 'filler'));
report.roomAgain = outcome((await Promise.allSettled([store.update((draft) => void draft.items.push(6))]))[0]!);
report.finally = { inMemory: store.data.items, onDisk: JSON.parse(readFileSync(file, 'utf8')).items };
console.log(JSON.stringify(report));
`,
    );
    expect(report).toEqual({
      filler: 'ENOSPC',
      refused: ['NO_SPACE', 'NO_SPACE', 'NO_SPACE'],
      inMemory: [1],
      onDisk: [1],
      files: ['doc.json', 'filler'],
      stillFull: 'NO_SPACE',
      roomAgain: 'saved',
      finally: { inMemory: [1, 6], onDisk: [1, 6] },
    });
  });
});

describe('the synchronous durable write', () => {
  it('writes the whole text however the kernel splits it, and on a failure leaves neither the file nor its temp file', async () => {
    const dir = await tempDir();
    writeFileDurablySync(join(dir, 'small'), 'id\n');
    expect(await readFile(join(dir, 'small'), 'utf8')).toBe('id\n');
    // A real short write, then a failure: under a file size limit of 4 KiB (SIGXFSZ ignored, as
    // bash passes it on) the kernel writes what fits and refuses the rest with EFBIG.
    const script = join(dir, 'write.mts');
    await writeFile(
      script,
      `import { readdirSync } from 'node:fs';
import { writeFileDurablySync } from ${JSON.stringify(join(process.cwd(), 'appliance/src/store/durable-json-file.ts'))};
import { testEvent } from '../fixtures/sse.ts';
let outcome = 'written';
try { writeFileDurablySync(${JSON.stringify(join(dir, 'out', 'file'))}, 'x'.repeat(65536)); } catch (error) { outcome = (error as NodeJS.ErrnoException).code ?? String(error); }
console.log(JSON.stringify({ outcome, left: readdirSync(${JSON.stringify(join(dir, 'out'))}) }));
`,
    );
    await mkdir(join(dir, 'out'));
    const output = execFileSync(
      'bash',
      ['-c', `trap '' XFSZ; ulimit -f 4; exec "${process.execPath}" --import tsx "${script}"`],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({ outcome: 'EFBIG', left: [] });
  });
});

describe('opening the store', () => {
  it('creates a new store at the latest schema and keeps a last-good backup on the next start', async () => {
    const dir = await tempDir();
    const first = await openIn(dir);
    expect(first.store.data.schemaVersion).toBe(latest);
    expect(first.migratedFrom).toBe(0);
    await openIn(dir);
    const backups = await readdir(join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(new RegExp(`\\.v${latest}\\.json$`));
  });

  it('keeps only the newest five routine backups', async () => {
    const dir = await tempDir();
    await openIn(dir);
    for (let i = 0; i < 8; i += 1)
      await openIn(dir, migrations, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    expect(await readdir(join(dir, 'backups'))).toHaveLength(5);
  });

  it.each([
    ['truncated', (text: string) => text.slice(0, Math.floor(text.length / 2)), /not valid JSON/],
    ['empty', () => '', /it is empty/],
    ['without a schema version', () => '{"users":[]}', /no valid schemaVersion/],
  ])('refuses a %s file, naming it and the last good backup', async (_name, damage, reason) => {
    const dir = await tempDir();
    await openIn(dir);
    await openIn(dir);
    const file = join(dir, 'bivouac.json');
    const before = await readFile(file, 'utf8');
    await writeFile(file, damage(before));
    const error = await openStore(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreOpenError);
    const { message, lastGoodBackup } = error as StoreOpenError;
    expect(message).toMatch(reason);
    expect(message).toContain(file);
    expect(lastGoodBackup).toMatch(/backups\/.*\.json$/);
    expect(message).toContain(lastGoodBackup!);
    // Nothing was reset: the damaged file is still there for inspection.
    expect(await readFile(file, 'utf8')).toBe(damage(before));
  });

  it('refuses a store written by a newer version', async () => {
    const dir = await tempDir();
    await openIn(dir);
    const file = join(dir, 'bivouac.json');
    const document = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...document, schemaVersion: latest + 1 }));
    await expect(openStore(dir)).rejects.toThrow(/newer Bivouac.*knows versions up to/);
  });

  it('refuses to start empty when the store is missing but backups exist', async () => {
    const dir = await tempDir();
    await openIn(dir);
    await openIn(dir);
    await rm(join(dir, 'bivouac.json'));
    await expect(openStore(dir)).rejects.toThrow(/missing but backups exist/);
  });

  it('backs up before migrating, then runs the numbered migrations in order', async () => {
    const dir = await tempDir();
    const first = await openIn(dir);
    await first.store.update((doc) =>
      doc.users.push({
        id: 'u1',
        username: 'ann',
        role: 'admin',
        passwordHash: 'x',
        disabled: false,
        createdAt: '',
        updatedAt: '',
      }),
    );
    const next: Migration = {
      version: latest + 1,
      description: 'give every user a display name',
      up(document) {
        for (const user of document.users as { username: string; displayName?: string }[])
          user.displayName = user.username.toUpperCase();
      },
    };
    const migrated = await openIn(dir, [...migrations, next]);
    expect(migrated.migratedFrom).toBe(latest);
    expect(migrated.store.data.schemaVersion).toBe(latest + 1);
    expect(migrated.store.data.users[0]).toMatchObject({ displayName: 'ANN' });
    const backup = JSON.parse(await readFile(migrated.backup!, 'utf8'));
    expect(backup.schemaVersion).toBe(latest);
    const onDisk = JSON.parse(await readFile(join(dir, 'bivouac.json'), 'utf8'));
    expect(onDisk.schemaVersion).toBe(latest + 1);
  });
});

describe('event log', () => {
  const event = (n: number) =>
    testEvent('test.happened', String(n), { owner: 'u', acl: [] }, { n });

  it('numbers events across restarts and replays what a client missed', async () => {
    const dir = await tempDir();
    const log = await EventLog.open({ directory: dir, replayLimit: 5 });
    for (let i = 1; i <= 8; i += 1) log.append(event(i));
    expect(log.since(6)?.map((e) => e.id)).toEqual([7, 8]);
    expect(log.since(8)).toEqual([]);
    expect(log.since(2)).toBeNull();
    log.close();
    const reopened = await EventLog.open({ directory: dir, replayLimit: 5 });
    expect(reopened.latestId).toBe(8);
    expect(reopened.append(event(9)).id).toBe(9);
    expect(reopened.since(6)?.map((e) => e.id)).toEqual([7, 8, 9]);
    reopened.close();
  });

  it('skips a torn last line after a crash and keeps appending cleanly', async () => {
    const dir = await tempDir();
    const log = await EventLog.open({ directory: dir });
    log.append(event(1));
    log.close();
    await writeFile(
      join(dir, 'events.jsonl'),
      `${await readFile(join(dir, 'events.jsonl'), 'utf8')}{"id":2,"ty`,
    );
    const reopened = await EventLog.open({ directory: dir });
    expect(reopened.latestId).toBe(1);
    reopened.append(event(2));
    reopened.close();
    const again = await EventLog.open({ directory: dir });
    expect(again.since(0)?.map((e) => e.id)).toEqual([1, 2]);
    again.close();
  });

  it('refuses to start on an unreadable id reservation, naming the file, instead of giving ids again', async () => {
    const dir = await tempDir();
    const log = await EventLog.open({ directory: dir });
    log.append(event(1));
    log.close();
    await writeFile(join(dir, 'reserved-id'), 'not a number\n');
    await expect(EventLog.open({ directory: dir })).rejects.toThrow(join(dir, 'reserved-id'));
  });

  it('an event whose id cannot be reserved on disk fails with EVENT_NOT_RECORDED and reaches no stream', async () => {
    const dir = await tempDir();
    const log = await EventLog.open({ directory: dir });
    const delivered: number[] = [];
    log.subscribe((stamped) => delivered.push((stamped as { id: number }).id));
    // The reservation's temp file cannot be made (a folder holds its name): the disk refuses the write.
    await mkdir(join(dir, '.reserved-id.tmp'));
    expect(() => log.append(event(1))).toThrow(
      expect.objectContaining({
        code: 'EVENT_NOT_RECORDED',
        message: expect.stringContaining('The change was saved'),
      }),
    );
    expect(delivered).toEqual([]);
    expect(log.latestId).toBe(0);
    await rmdir(join(dir, '.reserved-id.tmp'));
    expect(log.append(event(2)).id).toBe(1);
    expect(delivered).toEqual([1]);
    log.close();
  });

  it('rotates the file and keeps one previous file', async () => {
    const dir = await tempDir();
    const log = await EventLog.open({ directory: dir, rotateBytes: 2000 });
    for (let i = 1; i <= 60; i += 1) log.append(event(i));
    log.close();
    expect((await readdir(dir)).sort()).toEqual(['events.jsonl', 'events.jsonl.1', 'reserved-id']);
    const reopened = await EventLog.open({ directory: dir });
    expect(reopened.latestId).toBe(60);
    reopened.close();
  });
});

import { randomBytes } from 'node:crypto';
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AclRule } from '../domain/access.ts';
import type { StoredRun } from '../domain/runs.ts';
import type { VmRecord } from '../domain/vms.ts';
import {
  makeDirectoryDurably,
  readText,
  syncDirectory,
  writeFileDurably,
} from './durable-json-file.ts';
import { storedRun } from './run-content.ts';

/**
 * A finished run as the archive keeps it: the run (its nodes' content by reference, as in the main
 * document: `resolvedRun` reads it back; with the log entries its log file did not hold yet), with
 * the records of its VMs (all gone).
 */
export interface ArchivedRun {
  run: StoredRun;
  vms: VmRecord[];
  archivedAt: string;
}

/** What lists, counts and searches read of an archived run, held in memory; the rest stays on disk. */
export interface ArchivedSummary {
  id: string;
  owner: string;
  acl: AclRule[];
  title: string;
  module: StoredRun['module'];
  state: StoredRun['state'];
  stateEnteredAt: string;
  abort: StoredRun['abort'];
  terminating: boolean;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  archivedAt: string;
}

/** Where an archived run lies: its segment, and the bytes of its line there. */
interface Entry {
  summary: ArchivedSummary;
  segment: string;
  offset: number;
  length: number;
}

/** A segment's index file: each run's summary and where its line starts and how long it is. */
type SegmentIndex = Entry[];

const runsSuffix = '.runs';
const indexSuffix = '.index';
const removedFile = 'removed.json';

/**
 * Finished runs kept out of the main document, so that document (rewritten on every change) stays
 * small however many runs the box has seen. Runs are added in batches: each batch is one segment,
 * a file of one JSON line per run, and beside it the segment's index (each run's summary and where
 * its line lies). Both are written durably before `add` resolves, the index last, so a segment
 * without its index was cut short and is dropped at open (its runs are still in the main document,
 * whose change comes after). Only the summaries are held in memory; a run is read from its line.
 * Removed runs are listed in `removed.json` until every run of their segment is removed, when the
 * segment goes.
 */
export class RunArchive {
  private readonly entries = new Map<string, Entry>();
  /** Summaries, newest first (by creation), as lists page through them. */
  private ordered: ArchivedSummary[] = [];
  /** Removed runs whose segment is still on disk: id to segment. */
  private removed = new Map<string, string>();
  /** Changes to the archive's files, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly directory: string) {}

  static async open(directory: string): Promise<RunArchive> {
    await makeDirectoryDurably(directory, 0o700);
    const archive = new RunArchive(directory);
    await archive.load();
    return archive;
  }

  /** Archived runs, newest first. */
  summaries(): readonly ArchivedSummary[] {
    return this.ordered;
  }

  summary(id: string): ArchivedSummary | undefined {
    return this.entries.get(id)?.summary;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The archived run whole, read from its segment; undefined when it is not archived. */
  async read(id: string): Promise<ArchivedRun | undefined> {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const file = await open(join(this.directory, entry.segment + runsSuffix), 'r');
    try {
      const bytes = Buffer.alloc(entry.length);
      const { bytesRead } = await file.read(bytes, 0, entry.length, entry.offset);
      const archived = JSON.parse(bytes.subarray(0, bytesRead).toString('utf8')) as ArchivedRun;
      // Runs archived before logs were numbered held their whole log.
      archived.run.logged ??= archived.run.log.length;
      return archived;
    } finally {
      await file.close();
    }
  }

  /** Adds runs as one segment, durable when this resolves; runs already archived are skipped. */
  add(runs: readonly ArchivedRun[]): Promise<void> {
    return this.serially(async () => {
      const fresh = runs.filter((archived) => !this.entries.has(archived.run.id));
      if (fresh.length === 0) return;
      const segment = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`;
      const lines: Buffer[] = [];
      const index: SegmentIndex = [];
      let offset = 0;
      for (const archived of fresh) {
        const line = Buffer.from(JSON.stringify({ ...archived, run: storedRun(archived.run) }));
        index.push({ summary: summaryOf(archived), segment, offset, length: line.length });
        lines.push(line, newline);
        offset += line.length + 1;
      }
      await writeFileDurably(join(this.directory, segment + runsSuffix), Buffer.concat(lines));
      await writeFileDurably(join(this.directory, segment + indexSuffix), JSON.stringify(index));
      for (const entry of index) this.entries.set(entry.summary.id, entry);
      this.reorder();
    });
  }

  /** Removes archived runs for good; a segment whose runs are all removed goes with them. */
  remove(ids: readonly string[]): Promise<string[]> {
    return this.serially(async () => {
      const gone = ids.filter((id) => this.entries.has(id));
      if (gone.length === 0) return [];
      const removed = new Map(this.removed);
      for (const id of gone) removed.set(id, this.entries.get(id)!.segment);
      await this.writeRemoved(removed);
      this.removed = removed;
      for (const id of gone) this.entries.delete(id);
      this.reorder();
      await this.dropEmptySegments();
      return gone;
    });
  }

  private async load(): Promise<void> {
    const text = await readText(join(this.directory, removedFile));
    const removed = new Map(text === null ? [] : (JSON.parse(text) as [string, string][]));
    const names = await readdir(this.directory);
    const indexed = new Set(
      names
        .filter((name) => name.endsWith(indexSuffix))
        .map((name) => name.slice(0, -indexSuffix.length)),
    );
    for (const name of names) {
      // A write cut short (its temp file), or a segment whose index was never written.
      const orphan =
        name.endsWith('.tmp') ||
        (name.endsWith(runsSuffix) && !indexed.has(name.slice(0, -runsSuffix.length)));
      if (orphan) await unlink(join(this.directory, name));
    }
    for (const segment of [...indexed].sort()) {
      const index = JSON.parse(
        (await readText(join(this.directory, segment + indexSuffix))) ?? '[]',
      ) as SegmentIndex;
      for (const entry of index)
        if (!removed.has(entry.summary.id) && !this.entries.has(entry.summary.id))
          this.entries.set(entry.summary.id, { ...entry, segment });
    }
    this.removed = removed;
    this.reorder();
    await this.dropEmptySegments();
  }

  /** Deletes segments none of whose runs is left, then forgets their removed ids. */
  private async dropEmptySegments(): Promise<void> {
    const live = new Set([...this.entries.values()].map((entry) => entry.segment));
    const names = await readdir(this.directory);
    const segments = names
      .filter((name) => name.endsWith(indexSuffix))
      .map((name) => name.slice(0, -indexSuffix.length));
    const empty = segments.filter((segment) => !live.has(segment));
    if (empty.length === 0) return;
    for (const segment of empty) {
      // The index first: a segment without its index is dropped at open.
      await unlink(join(this.directory, segment + indexSuffix));
      await unlink(join(this.directory, segment + runsSuffix)).catch(() => undefined);
    }
    await syncDirectory(this.directory);
    const dropped = new Set(empty);
    const kept = new Map([...this.removed].filter(([, segment]) => !dropped.has(segment)));
    await this.writeRemoved(kept);
    this.removed = kept;
  }

  private writeRemoved(removed: Map<string, string>): Promise<void> {
    return writeFileDurably(join(this.directory, removedFile), JSON.stringify([...removed]));
  }

  private reorder(): void {
    this.ordered = [...this.entries.values()]
      .map((entry) => entry.summary)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

const newline = Buffer.from('\n');

function summaryOf({ run, archivedAt }: ArchivedRun): ArchivedSummary {
  return {
    id: run.id,
    owner: run.owner,
    acl: run.acl,
    title: run.title,
    module: run.module,
    state: run.state,
    stateEnteredAt: run.stateEnteredAt,
    abort: run.abort,
    terminating: run.terminating,
    tags: run.tags,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    archivedAt,
  };
}

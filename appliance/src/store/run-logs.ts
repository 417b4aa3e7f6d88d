import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { NumberedEntry } from '../domain/runs.ts';
import {
  makeDirectoryDurably,
  readText,
  syncDirectory,
  writeFileDurably,
} from './durable-json-file.ts';

export interface RunLogsOptions {
  /** A run's file is rotated (the current one becomes `.1`, the older `.1` goes) past this size. */
  rotateBytes?: number;
}

/** 256 KiB: with the rotated file beside it, a run keeps its newest 256–512 KiB of log. */
const defaultRotateBytes = 256 * 1024;

const runIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Run logs, out of the main document: one append-only file of JSON lines per run
 * (`<id>.log`), rotated to `<id>.1.log` once it passes its size, so a run that logs for years keeps
 * only its newest entries. Entries are numbered: an append skips what the file already holds,
 * so appending the same entries again (after a crash between a file's write and the main
 * document's change that follows it) doubles nothing. An append is durable (fdatasync) when it
 * resolves; a line a power cut tore is cut off the next time the run's file is opened.
 * Appends to one run's file go one at a time.
 */
export class RunLogs {
  private readonly rotateBytes: number;
  /** The number of the last entry each run's files hold, once read or written in this process. */
  private readonly last = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();

  private constructor(
    private readonly directory: string,
    options: RunLogsOptions,
  ) {
    this.rotateBytes = options.rotateBytes ?? defaultRotateBytes;
  }

  static async open(directory: string, options: RunLogsOptions = {}): Promise<RunLogs> {
    await makeDirectoryDurably(directory, 0o700);
    return new RunLogs(directory, options);
  }

  /** The number of the last entry known to be durable in the run's files (0 when unknown yet). */
  durableThrough(runId: string): number {
    return this.last.get(runId) ?? 0;
  }

  /** Appends the entries the run's files do not hold yet; durable when this resolves. */
  append(runId: string, entries: readonly NumberedEntry[]): Promise<void> {
    return this.serially(runId, async () => {
      const through = await this.lastOf(runId);
      const fresh = entries.filter((entry) => entry.seq > through);
      if (fresh.length === 0) return;
      const text = fresh.map((entry) => JSON.stringify(entry) + '\n').join('');
      const path = this.current(runId);
      const size = (await stat(path).catch(() => null))?.size ?? null;
      const rotate = size !== null && size > 0 && size + Buffer.byteLength(text) > this.rotateBytes;
      if (rotate) await rename(path, this.rotated(runId));
      const file = await open(path, 'a', 0o600);
      try {
        await file.writeFile(text);
        await file.datasync();
      } catch (error) {
        // What was written may end in a torn line: read the file again (and cut it) next time.
        this.last.delete(runId);
        throw error;
      } finally {
        await file.close();
      }
      // A new file (or a rotation) is on disk only once its folder is.
      if (size === null || rotate) await syncDirectory(this.directory);
      this.last.set(runId, fresh.at(-1)!.seq);
    });
  }

  /** The newest `limit` entries the run's files hold, oldest first. */
  async read(runId: string, limit: number): Promise<NumberedEntry[]> {
    checkId(runId);
    const lines = [
      ...completeLines(await readText(this.rotated(runId))),
      ...completeLines(await readText(this.current(runId))),
    ];
    return lines.slice(-limit).map((line) => JSON.parse(line) as NumberedEntry);
  }

  /** Removes the runs' files for good. */
  async remove(runIds: readonly string[]): Promise<void> {
    for (const runId of runIds)
      await this.serially(runId, async () => {
        await unlink(this.current(runId)).catch(() => undefined);
        await unlink(this.rotated(runId)).catch(() => undefined);
        this.last.delete(runId);
      });
    await syncDirectory(this.directory);
  }

  /** Resolves once every append asked for so far has ended. */
  async settled(): Promise<void> {
    await Promise.all([...this.chains.values()].map((chain) => chain.catch(() => undefined)));
  }

  /** The last entry's number in the run's files, read once; a torn last line is cut off first. */
  private async lastOf(runId: string): Promise<number> {
    const known = this.last.get(runId);
    if (known !== undefined) return known;
    const path = this.current(runId);
    const text = await readText(path);
    if (text !== null && text !== '' && !text.endsWith('\n'))
      await writeFileDurably(path, text.slice(0, text.lastIndexOf('\n') + 1));
    const lastLine =
      completeLines(text).at(-1) ?? completeLines(await readText(this.rotated(runId))).at(-1);
    const through = lastLine ? (JSON.parse(lastLine) as NumberedEntry).seq : 0;
    this.last.set(runId, through);
    return through;
  }

  private current(runId: string): string {
    return join(this.directory, `${checkId(runId)}.log`);
  }

  private rotated(runId: string): string {
    return join(this.directory, `${checkId(runId)}.1.log`);
  }

  private serially<T>(runId: string, work: () => Promise<T>): Promise<T> {
    const next = (this.chains.get(runId) ?? Promise.resolve()).then(work, work);
    const chain = next.catch(() => undefined);
    this.chains.set(runId, chain);
    void chain.then(() => {
      if (this.chains.get(runId) === chain) this.chains.delete(runId);
    });
    return next;
  }
}

/** The lines of a file that end in a newline (a torn last line is left out). */
function completeLines(text: string | null): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  lines.pop();
  return lines.filter((line) => line !== '');
}

function checkId(runId: string): string {
  if (!runIdPattern.test(runId)) throw new Error(`Not a run id: ${JSON.stringify(runId)}`);
  return runId;
}

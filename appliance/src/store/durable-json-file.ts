import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Adapter } from 'lowdb';

/**
 * How a document is written and read back when its stored form differs from the one in memory
 * (the main document keeps runs' content by reference): `encode` gives what is written, `decode`
 * takes what was read (parsed) back to the form in memory.
 */
export interface DocumentCodec<T> {
  encode(data: T): unknown;
  decode(stored: T): T;
}

/**
 * A lowdb adapter that acknowledges a write only once it survives a power cut: the text goes to
 * a temp file which is fsynced, renamed over the real file, and then the directory is fsynced so
 * the rename itself is on disk. lowdb's own writer renames but never fsyncs.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  readonly path: string;
  private readonly tempPath: string;
  /** The text of the last write that succeeded: what the file holds. */
  lastWritten: string | null = null;

  constructor(
    path: string,
    private readonly codec?: DocumentCodec<T>,
  ) {
    this.path = path;
    this.tempPath = tempPathOf(path);
  }

  /** Returns null when the file does not exist; throws `SyntaxError` on bad JSON. */
  async read(): Promise<T | null> {
    const text = await readText(this.path);
    return text === null ? null : this.deserialize(text);
  }

  /** Serialises synchronously (the snapshot is taken at call time), then writes durably. */
  async write(data: T): Promise<void> {
    const text = this.serialize(data);
    await writeFileDurably(this.path, text, this.tempPath);
    this.lastWritten = text;
  }

  /** The text written for `data`. */
  serialize(data: T): string {
    return JSON.stringify(this.codec ? this.codec.encode(data) : data);
  }

  /** The document in memory from the text written. */
  deserialize(text: string): T {
    const parsed = JSON.parse(text) as T;
    return this.codec ? this.codec.decode(parsed) : parsed;
  }
}

export async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The temp file a durable write of `path` goes through, beside it (a rename stays in one folder). */
function tempPathOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp`);
}

/** Write-temp, fsync, rename, fsync-directory; on a failure the temp file is removed. */
export async function writeFileDurably(
  path: string,
  content: string | Buffer,
  tempPath = tempPathOf(path),
): Promise<void> {
  const file = await open(tempPath, 'w', 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(tempPath, path);
  await syncDirectory(dirname(path));
}

/** The synchronous twin of `writeFileDurably`, for a small file a synchronous caller must keep. */
export function writeFileDurablySync(path: string, content: string | Buffer): void {
  const tempPath = tempPathOf(path);
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  const file = openSync(tempPath, 'w', 0o600);
  try {
    // writeSync may write less than asked (a signal, a full pipe of a FUSE file system): go on from there.
    for (let written = 0; written < bytes.length;)
      written += writeSync(file, bytes, written, bytes.length - written);
    fsyncSync(file);
  } catch (error) {
    closeSync(file);
    try {
      unlinkSync(tempPath);
    } catch {
      // Already gone: nothing to clean.
    }
    throw error;
  }
  closeSync(file);
  renameSync(tempPath, path);
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/**
 * `mkdir -p` whose new folders survive a power cut: a new folder's name is on disk only once the
 * folder holding it is fsynced, and a file synced into a folder whose own name was lost is lost
 * with it.
 */
export async function makeDirectoryDurably(path: string, mode?: number): Promise<void> {
  const target = resolve(path);
  const first = await mkdir(target, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  // The folder may have been made by an earlier start cut short before its parent was synced:
  // the parent is synced every time. New folders above it have their own parents synced too.
  const top = first === undefined ? target : resolve(first);
  for (let folder = target; ; folder = dirname(folder)) {
    const parent = dirname(folder);
    await syncDirectory(parent);
    if (folder === top || parent === folder) return;
  }
}

/** Copies a file so that the copy, content and name, is on disk before this resolves. */
export async function copyFileDurably(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const copy = await open(to, 'r+');
  try {
    await copy.sync();
  } finally {
    await copy.close();
  }
  await syncDirectory(dirname(to));
}

export async function syncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

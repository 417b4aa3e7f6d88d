import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export interface ConsoleSlice {
  text: string;
  fromBytes: number;
  sizeBytes: number;
}

/** Bytes `[from, size)` of a log file, as text (a partial UTF-8 sequence at the cut shows as U+FFFD). */
async function slice(path: string, from: number, size: number): Promise<ConsoleSlice> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, size - from));
    await handle.read(buffer, 0, buffer.length, from);
    return { text: buffer.toString('utf8'), fromBytes: from, sizeBytes: size };
  } finally {
    await handle.close();
  }
}

async function sizeOf(path: string): Promise<number | null> {
  return (await stat(path).catch(() => null))?.size ?? null;
}

/** One watcher per file, shared by every request waiting on it, closed when the last one leaves. */
const watched = new Map<string, { watcher: FSWatcher; listeners: Set<() => void> }>();

/** Calls `listener` when the file changes; returns its stop. Without a watcher nothing calls it. */
function onChange(path: string, listener: () => void): () => void {
  let entry = watched.get(path);
  if (!entry) {
    let watcher: FSWatcher;
    try {
      watcher = watch(path, { persistent: false });
    } catch {
      return () => {};
    }
    const created = { watcher, listeners: new Set<() => void>() };
    watcher.on('change', () => {
      for (const each of [...created.listeners]) each();
    });
    watcher.on('error', () => {
      watcher.close();
      if (watched.get(path) === created) watched.delete(path);
    });
    watched.set(path, created);
    entry = created;
  }
  const current = entry;
  current.listeners.add(listener);
  return () => {
    current.listeners.delete(listener);
    if (current.listeners.size === 0 && watched.get(path) === current) {
      watched.delete(path);
      current.watcher.close();
    }
  };
}

/**
 * A file replaced under the same name (a VM restarted) is not seen by a watcher on the old one,
 * so a wait also looks again this often.
 */
const recheckMs = 1000;

/** Resolves when the file changes, or after `ms`, whichever comes first. */
function changeOrTimeout(path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stop();
      clearTimeout(timer);
      resolve();
    };
    const stop = onChange(path, done);
    const timer = setTimeout(done, ms);
  });
}

/** How many files are watched now (tests). */
export function watchedConsoleLogs(): number {
  return watched.size;
}

/** How many reads are parked waiting for `path` to grow right now (tests: a wait has begun). */
export function waitingConsoleReads(path: string): number {
  return watched.get(path)?.listeners.size ?? 0;
}

/**
 * Reads a console log: its last `tail` bytes, or — following a live view — what was written
 * after `after`, waiting up to `waitMs` for something new. A log that was truncated (the VM
 * restarted) is read again from its start. Null when there is no log.
 */
export async function readConsole(
  path: string,
  options: { after?: number | undefined; waitMs: number; tail: number },
): Promise<ConsoleSlice | null> {
  let size = await sizeOf(path);
  if (size === null) return null;
  if (options.after === undefined) return slice(path, Math.max(0, size - options.tail), size);
  const deadline = Date.now() + options.waitMs;
  while (size === options.after && Date.now() < deadline) {
    await changeOrTimeout(path, Math.min(recheckMs, deadline - Date.now()));
    size = (await sizeOf(path)) ?? 0;
  }
  const from = size < options.after ? 0 : options.after;
  return slice(path, from, Math.min(size, from + 1024 * 1024));
}

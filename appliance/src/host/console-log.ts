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

/**
 * Reads a console log: its last `tail` bytes, or — following a live view — what was written
 * after `after`, waiting up to `waitMs` for something new. A log that was truncated (the VM
 * restarted) is read again from its start. Null when there is no log.
 */
export async function readConsole(path: string, options: { after?: number | undefined; waitMs: number; tail: number }): Promise<ConsoleSlice | null> {
  let size = await sizeOf(path);
  if (size === null) return null;
  if (options.after === undefined) return slice(path, Math.max(0, size - options.tail), size);
  const deadline = Date.now() + options.waitMs;
  while (size === options.after && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    size = (await sizeOf(path)) ?? 0;
  }
  const from = size < options.after ? 0 : options.after;
  return slice(path, from, Math.min(size, from + 1024 * 1024));
}

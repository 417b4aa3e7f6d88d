import { logLevels, type LogLevelName, type LogLine } from '../domain/logs.ts';

export type { LogLine };

/**
 * The appliance's recent log lines, kept in memory for the Box page: a fixed number of the
 * newest lines, older ones dropped. stdout stays the log of record; this is a window on it.
 */

/** pino's numbers for its levels. */
const levelNumbers: Record<LogLevelName, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** Fields every line carries that say nothing about the line itself. */
const omitted = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v']);

/** A line longer than this keeps its level, time and message only. */
const maxLineBytes = 16 * 1024;

export class LogRing {
  private readonly lines: LogLine[] = [];
  private start = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();
  /** Set while listeners run: a line they cause themselves is kept but not passed on again. */
  private telling = false;

  constructor(readonly capacity = 1000) {}

  /** Takes what pino writes: one JSON line, or several in one chunk. */
  write(chunk: string): void {
    for (const text of chunk.split('\n')) {
      if (text.trim() === '') continue;
      const line = parseLine(text);
      if (!line) continue;
      if (this.lines.length < this.capacity) this.lines.push(line);
      else {
        this.lines[this.start] = line;
        this.start = (this.start + 1) % this.capacity;
      }
      this.tell(line);
    }
  }

  /** Calls `listener` with every new line; returns the unsubscribe. */
  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(line: LogLine): void {
    if (this.telling) return;
    this.telling = true;
    try {
      for (const listener of this.listeners) listener(line);
    } finally {
      this.telling = false;
    }
  }

  /** The newest `limit` lines at `minLevel` or above, newest first. */
  recent(limit: number, minLevel: LogLevelName = 'trace'): LogLine[] {
    const floor = levelNumbers[minLevel];
    const found: LogLine[] = [];
    for (let back = 1; back <= this.lines.length && found.length < limit; back += 1) {
      const line = this.lines[(this.start + this.lines.length - back) % this.lines.length]!;
      if (levelNumbers[line.level] >= floor) found.push(line);
    }
    return found;
  }
}

function parseLine(text: string): LogLine | null {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text.length > maxLineBytes ? shorten(text) : text) as Record<
      string,
      unknown
    >;
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) if (!omitted.has(key)) fields[key] = value;
  return {
    time: new Date(typeof parsed.time === 'number' ? parsed.time : Date.now()).toISOString(),
    level: levelName(parsed.level),
    message: typeof parsed.msg === 'string' ? parsed.msg : '',
    fields,
  };
}

/** An oversized line is cut to its level, time and message (pino writes those first). */
function shorten(text: string): string {
  const head = /^\{"level":(\d+),"time":(\d+)/.exec(text);
  const message = /"msg":("(?:[^"\\]|\\.)*")/.exec(text);
  return JSON.stringify({
    level: head ? Number(head[1]) : 30,
    time: head ? Number(head[2]) : Date.now(),
    msg: message ? (JSON.parse(message[1]!) as string) : '',
    truncated: `the line was ${text.length} bytes long; stdout has all of it`,
  });
}

function levelName(level: unknown): LogLevelName {
  const number = typeof level === 'number' ? level : 30;
  let name: LogLevelName = 'trace';
  for (const candidate of logLevels) if (number >= levelNumbers[candidate]) name = candidate;
  return name;
}

/** What pino writes to: a stream with `write`, and `flush` at shutdown. */
export interface LogDestination {
  write(chunk: string): unknown;
  flush?(callback?: (error?: Error) => void): void;
}

/**
 * A pino destination that hands every line to `out` exactly as pino wrote it and keeps a copy
 * in `ring`; flushing flushes `out`.
 */
export function teeDestination(out: LogDestination, ring: LogRing): LogDestination {
  return {
    write(chunk) {
      const written = out.write(chunk);
      ring.write(chunk);
      return written;
    },
    flush(callback) {
      if (out.flush) out.flush(callback);
      else callback?.();
    },
  };
}

import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  DeliveredEvent,
  DomainEvent,
  StampedEvent,
  TransientEvent,
} from '../domain/events.ts';
import { BivouacError } from '../errors.ts';
import { makeDirectoryDurably, readText, writeFileDurablySync } from './durable-json-file.ts';

export interface EventLogOptions {
  /** Folder of the append-only files (outside the main document). */
  directory: string;
  /** Events kept in memory for replay to reconnecting clients. */
  replayLimit?: number;
  /** The current file is rotated once it reaches this size; one previous file is kept. */
  rotateBytes?: number;
  now?: () => Date;
}

export type EventListener = (event: DeliveredEvent) => void;

/** Ids are reserved on disk this many at a time, before any of them is given out. */
const idsPerReservation = 1000;

/**
 * The event stream's source: numbers and times events, appends them to a rotating JSON-lines
 * file, keeps a bounded window in memory for `Last-Event-ID` replay, and fans them out to
 * subscribers. Numbering survives restarts (the last id is read back from the file) and power
 * cuts, which can lose the newest lines: ids are reserved on disk (`reserved-id`, fsynced) a block
 * at a time before they are given out, and a start goes on past the reservation, so an id a client
 * has seen never names another event. A clean close gives back the unused ones. Transient events
 * (`broadcast`) only fan out.
 */
export class EventLog {
  private readonly window: StampedEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  /** How many listeners (event streams) are open: someone is watching. */
  get listenerCount(): number {
    return this.listeners.size;
  }
  private readonly replayLimit: number;
  private readonly rotateBytes: number;
  private readonly now: () => Date;
  private readonly file: string;
  private readonly reservationFile: string;
  /** The highest id reserved on disk; no id above it has been given out. */
  private reservedId = 0;
  private fd: number | undefined;
  private bytes = 0;
  private lastId = 0;

  private constructor(private readonly options: EventLogOptions) {
    this.replayLimit = options.replayLimit ?? 1000;
    this.rotateBytes = options.rotateBytes ?? 8 * 1024 * 1024;
    this.now = options.now ?? (() => new Date());
    this.file = join(options.directory, 'events.jsonl');
    this.reservationFile = join(options.directory, 'reserved-id');
  }

  static async open(options: EventLogOptions): Promise<EventLog> {
    const log = new EventLog(options);
    await log.recover();
    return log;
  }

  get latestId(): number {
    return this.lastId;
  }

  /**
   * A change clients must not miss: numbered, written to the file and kept for replay. The change
   * itself is durable before this is called, so a disk that refuses the event (full, failing)
   * throws EVENT_NOT_RECORDED saying so, and no stream gets an event the file does not hold.
   */
  append(event: DomainEvent): StampedEvent {
    const id = this.lastId + 1;
    if (id > this.reservedId)
      this.unrecordedOnFailure(event, () => this.reserveUpTo(this.lastId + idsPerReservation));
    this.lastId = id;
    const stamped: StampedEvent = { ...event, id, time: this.now().toISOString() };
    this.unrecordedOnFailure(event, () => this.writeLine(`${JSON.stringify(stamped)}\n`));
    this.window.push(stamped);
    if (this.window.length > this.replayLimit) this.window.shift();
    for (const listener of this.listeners) listener(stamped);
    return stamped;
  }

  private unrecordedOnFailure(event: DomainEvent, write: () => void): void {
    try {
      write();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new BivouacError(
        'EVENT_NOT_RECORDED',
        `The change was saved, but its ${event.type} event could not be written to ${this.options.directory} (${reason}); open screens will not show it until they reload.`,
        { type: event.type, reason },
      );
    }
  }

  /**
   * A fresh-only event (a metrics tick, progress) for the streams open now: no id, nothing
   * written, nothing kept. With no stream open it costs nothing.
   */
  broadcast(event: DomainEvent): TransientEvent {
    const timed: TransientEvent = { ...event, time: this.now().toISOString() };
    for (const listener of this.listeners) listener(timed);
    return timed;
  }

  /**
   * Events after `id`, or `null` when the window no longer reaches back that far (the client
   * must then reload its state instead of replaying).
   */
  since(id: number): StampedEvent[] | null {
    if (id >= this.lastId) return [];
    const oldest = this.window[0];
    if (!oldest || oldest.id > id + 1) return null;
    return this.window.filter((event) => event.id > id);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    try {
      if (this.reservedId > this.lastId) this.reserveUpTo(this.lastId);
    } catch {
      // Not giving them back only leaves a gap in the numbering.
    }
  }

  private reserveUpTo(id: number): void {
    writeFileDurablySync(this.reservationFile, `${id}\n`);
    this.reservedId = id;
  }

  private async recover(): Promise<void> {
    await makeDirectoryDurably(this.options.directory);
    const previous = (await readText(`${this.file}.1`)) ?? '';
    const current = (await readText(this.file)) ?? '';
    for (const line of `${previous}\n${current}`.split('\n')) {
      const event = parseLine(line);
      if (!event) continue;
      this.lastId = Math.max(this.lastId, event.id);
      this.window.push(event);
    }
    this.window.splice(0, Math.max(0, this.window.length - this.replayLimit));
    // After a power cut the file may lack events whose ids were given out, but none above this.
    const reservation = await readText(this.reservationFile);
    if (reservation !== null) {
      const reserved = /^\d+\n?$/.test(reservation) ? Number(reservation) : NaN;
      // Without it an id given out before the last start could be given to another event.
      if (!Number.isSafeInteger(reserved)) {
        throw new Error(
          `The event log's id reservation ${this.reservationFile} holds ${JSON.stringify(reservation.slice(0, 40))}, not an id; ` +
            'refusing to start, since ids given out before could be given again. Write into it a number above every id ' +
            `given out (the highest id in ${this.file} plus ${idsPerReservation} is safe).`,
        );
      }
      this.lastId = Math.max(this.lastId, reserved);
    }
    this.reservedId = this.lastId;
    this.bytes = (await stat(this.file).catch(() => ({ size: 0 }))).size;
    this.fd = openSync(this.file, 'a', 0o600);
    if (current !== '' && !current.endsWith('\n')) this.writeLine('\n');
  }

  /**
   * Appends synchronously: lines are small, and ordering with rotation stays trivial. Events
   * are not fsynced one by one; a torn last line is skipped on recovery.
   */
  private writeLine(line: string): void {
    if (this.fd === undefined) return;
    this.bytes += writeSync(this.fd, line);
    if (this.bytes < this.rotateBytes) return;
    closeSync(this.fd);
    renameSync(this.file, `${this.file}.1`);
    this.fd = openSync(this.file, 'a', 0o600);
    this.bytes = 0;
  }
}

/** A torn last line (power cut mid-append) is skipped, not fatal. */
function parseLine(line: string): StampedEvent | null {
  if (!line.trim()) return null;
  try {
    const event = JSON.parse(line) as StampedEvent;
    return Number.isInteger(event.id) ? event : null;
  } catch {
    return null;
  }
}

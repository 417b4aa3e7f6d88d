import { Low } from 'lowdb';
import { BivouacError } from '../errors.ts';
import type { DurableJsonFile } from './durable-json-file.ts';

/**
 * The main document in memory plus durable, coalesced persistence. Reads are synchronous;
 * `update` applies a change and resolves only once that change is on disk. Changes made while
 * a write is in flight are written together by the next one, so a burst costs two writes, not N.
 *
 * An update function must check everything before it changes anything: if it throws, nothing
 * has been changed and nothing is written.
 *
 * A write the disk refuses (full, failing) leaves the document as the disk has it: every change
 * since the last acknowledged write is undone in memory too, and each of their updates rejects
 * (NO_SPACE for a full disk, NOT_SAVED otherwise), so what callers were told is what is stored.
 */
export class Store<T extends object> {
  private readonly db: Low<T>;
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private writes = 0;
  /** The document as the file on disk holds it: the text of the last acknowledged write. */
  private durable: string;
  /** Bumped each time a refused write takes the document back to `durable`. */
  private epoch = 0;
  private refusal: BivouacError | null = null;

  constructor(
    private readonly file: DurableJsonFile<T>,
    data: T,
  ) {
    this.db = new Low(file, data);
    this.durable = file.serialize(data);
  }

  /** The current document. Treat as read-only: change it through `update`. */
  get data(): Readonly<T> {
    return this.db.data;
  }

  /** How many times the document was written (for tests and benchmarks of coalescing). */
  get writeCount(): number {
    return this.writes;
  }

  async update<R>(change: (draft: T) => R): Promise<R> {
    const result = change(this.db.data);
    await this.persist();
    return result;
  }

  /** Resolves when every change made so far is durable. */
  async flush(): Promise<void> {
    await this.queued;
    await this.inFlight;
  }

  private persist(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) return this.startWrite();
    const settled = this.inFlight.then(ignore, ignore);
    const epoch = this.epoch;
    const queued: Promise<void> = settled.then(() => {
      if (this.queued === queued) this.queued = undefined;
      // The write before was refused and took these changes back with it.
      if (this.epoch !== epoch) throw this.refusal!;
      return this.startWrite();
    });
    this.queued = queued;
    return queued;
  }

  private startWrite(): Promise<void> {
    this.writes += 1;
    const write = this.db
      .write()
      .then(
        () => {
          this.durable = this.file.lastWritten!;
        },
        (error: unknown) => {
          throw this.rollBack(error);
        },
      )
      .finally(() => {
        if (this.inFlight === write) this.inFlight = undefined;
      });
    this.inFlight = write;
    return write;
  }

  /**
   * Puts the document back as the disk has it, at once (no change can slip in between), and
   * starts a new epoch: the changes waiting for the next write were undone with it.
   */
  private rollBack(error: unknown): BivouacError {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    this.refusal =
      reason === 'ENOSPC' || reason === 'EDQUOT'
        ? new BivouacError(
            'NO_SPACE',
            'The data disk is full: the change was not saved, and nothing changed. Free space on it and try again.',
            { reason },
          )
        : new BivouacError(
            'NOT_SAVED',
            `The disk refused the write (${reason}): the change was not saved, and nothing changed.`,
            { reason },
          );
    this.db.data = this.file.deserialize(this.durable);
    this.epoch += 1;
    this.queued = undefined;
    return this.refusal;
  }
}

function ignore(): void {}

import { Low } from 'lowdb';
import type { Adapter } from 'lowdb';

/**
 * The main document in memory plus durable, coalesced persistence. Reads are synchronous;
 * `update` applies a change and resolves only once that change is on disk. Changes made while
 * a write is in flight are written together by the next one, so a burst costs two writes, not N.
 *
 * An update function must check everything before it changes anything: if it throws, nothing
 * has been changed and nothing is written.
 */
export class Store<T extends object> {
  private readonly db: Low<T>;
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private writes = 0;

  constructor(adapter: Adapter<T>, data: T) {
    this.db = new Low(adapter, data);
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
    this.queued = settled.then(() => {
      this.queued = undefined;
      return this.startWrite();
    });
    return this.queued;
  }

  private startWrite(): Promise<void> {
    this.writes += 1;
    const write = this.db.write().finally(() => {
      if (this.inFlight === write) this.inFlight = undefined;
    });
    this.inFlight = write;
    return write;
  }
}

function ignore(): void {}

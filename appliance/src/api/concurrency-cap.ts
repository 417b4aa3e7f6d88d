import { BivouacError, type ErrorCode } from '../errors.ts';

/**
 * At most `limit` things held at once per key (a user's event streams, an agent token's waits).
 * Taking one beyond the limit throws the given code (a 429) with `details.limit`.
 */
export class ConcurrencyCap {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly code: ErrorCode,
    private readonly what: string,
  ) {}

  /** Holds one slot for `key`, or throws; the returned release may be called more than once. */
  take(key: string): () => void {
    const count = this.held.get(key) ?? 0;
    if (count >= this.limit) {
      throw new BivouacError(
        this.code,
        `At most ${this.limit} ${this.what} at once; one of them must end first.`,
        { limit: this.limit },
      );
    }
    this.held.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  /** Runs `work` holding one slot for `key`. */
  async with<T>(key: string, work: () => Promise<T>): Promise<T> {
    const release = this.take(key);
    try {
      return await work();
    } finally {
      release();
    }
  }
}

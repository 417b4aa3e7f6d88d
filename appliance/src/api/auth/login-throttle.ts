export interface ThrottleOptions {
  /** Failures allowed before waits start (so one more attempt than this is checked at first). */
  freeFailures?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Entries kept at most, oldest dropped first, so a flood of names cannot exhaust memory. */
  maxEntries?: number;
  now?: () => number;
}

/** One key an attempt counts against, optionally with its own allowance of free failures. */
export type ThrottleKey = string | { id: string; freeFailures: number };

interface Entry {
  failures: number;
  blockedUntil: number;
  /** Attempts reserved and not yet settled: they count before their outcome is known. */
  inFlight: number;
}

/** A reserved attempt: settle it exactly once (later calls do nothing). */
export interface ThrottledAttempt {
  /** The secret was wrong: counts as a failure for every key. */
  fail(): void;
  /** The secret was right: clears every key. */
  succeed(): void;
  /** Nothing was checked (the box was too busy): the reservation is given back. */
  cancel(): void;
}

export type Reservation = { ok: true; attempt: ThrottledAttempt } | { ok: false; waitMs: number };

/** Without a pending wait, a refusal because of attempts still in flight asks for this pause. */
const inFlightRetryMs = 1000;

/**
 * Throttling of password and PIN guesses with exponential backoff. An attempt is reserved
 * synchronously before its secret is checked, and counts against its keys while in flight, so a
 * burst of parallel guesses gets no more checks than sequential ones: at first `freeFailures + 1`
 * per key, then one per wait, each failure beyond the free ones doubling the wait up to a
 * ceiling. A success clears the keys.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60 * 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Reserves one attempt against every key, or says how long to wait. Synchronous, so two
   * requests can never both take the last allowed attempt.
   */
  reserve(keys: readonly ThrottleKey[]): Reservation {
    const now = this.now();
    const rules = keys.map((key) =>
      typeof key === 'string' ? { id: key, freeFailures: this.freeFailures } : key,
    );
    let waitMs = 0;
    for (const { id, freeFailures } of rules) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      const blockedMs = entry.blockedUntil - now;
      if (blockedMs > 0) waitMs = Math.max(waitMs, blockedMs);
      else if (entry.inFlight >= Math.max(1, freeFailures + 1 - entry.failures))
        waitMs = Math.max(waitMs, inFlightRetryMs);
    }
    if (waitMs > 0) return { ok: false, waitMs };
    for (const { id } of rules) this.touch(id).inFlight += 1;
    this.evict();
    let isSettled = false;
    const settle = (outcome: 'fail' | 'succeed' | 'cancel'): void => {
      if (isSettled) return;
      isSettled = true;
      for (const { id, freeFailures } of rules) {
        const entry = this.touch(id);
        entry.inFlight = Math.max(0, entry.inFlight - 1);
        if (outcome === 'fail') {
          entry.failures += 1;
          const over = entry.failures - freeFailures;
          if (over > 0)
            entry.blockedUntil =
              this.now() + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (over - 1));
        } else if (outcome === 'succeed') {
          entry.failures = 0;
          entry.blockedUntil = 0;
        }
        if (entry.failures === 0 && entry.inFlight === 0) this.entries.delete(id);
      }
      this.evict();
    };
    return {
      ok: true,
      attempt: {
        fail: () => settle('fail'),
        succeed: () => settle('succeed'),
        cancel: () => settle('cancel'),
      },
    };
  }

  /** The entry for a key, moved to the newest end of the eviction order. */
  private touch(id: string): Entry {
    const entry = this.entries.get(id) ?? { failures: 0, blockedUntil: 0, inFlight: 0 };
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry;
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

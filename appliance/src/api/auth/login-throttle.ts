export interface ThrottleOptions {
  /** Failures allowed before waits start. */
  freeFailures?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Entries kept at most, oldest dropped first, so a flood of names cannot exhaust memory. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  blockedUntil: number;
}

/**
 * Login throttling with exponential backoff, per user name and per client address. After the
 * free failures each further failure doubles the wait, up to a ceiling; a success clears it.
 */
export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: ThrottleOptions = {}) {
    this.freeFailures = options.freeFailures ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60 * 1000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds to wait before the next attempt for these keys (0: go ahead). */
  waitMs(keys: readonly string[]): number {
    const now = this.now();
    return Math.max(0, ...keys.map((key) => (this.entries.get(key)?.blockedUntil ?? 0) - now));
  }

  recordFailure(keys: readonly string[]): void {
    for (const key of keys) {
      const entry = this.entries.get(key) ?? { failures: 0, blockedUntil: 0 };
      entry.failures += 1;
      const over = entry.failures - this.freeFailures;
      if (over > 0) entry.blockedUntil = this.now() + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (over - 1));
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  recordSuccess(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }
}

import { availableParallelism } from 'node:os';
import { BivouacError } from '../../errors.ts';
import { LoginThrottle, type ThrottleKey } from './login-throttle.ts';

export interface PasswordChecksOptions {
  throttle?: LoginThrottle;
  /** scrypt hashes running at once, box-wide; more wait (own changes) or are refused (guesses). */
  maxInFlight?: number;
}

/** How a refused guess is told: the code and wording of sign-in, password change or PIN. */
export type ThrottledError = (retryAfterSeconds: number) => BivouacError;

/** libuv's thread pool, which scrypt shares with file I/O (4 threads unless UV_THREADPOOL_SIZE says). */
const threadPoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/**
 * Hashes in flight at most: 4, and no more than half the thread pool nor half the box's cores.
 * Each hash keeps a pool thread and a core busy for tens of milliseconds, so hashing never holds
 * up file I/O (store writes) for long nor takes the CPU from the event loop: on a 2-core box one
 * hash at a time, with the default pool two.
 */
export const maxHashesInFlight = Math.max(
  1,
  Math.min(4, Math.floor(threadPoolSize / 2), Math.floor(availableParallelism() / 2)),
);

/**
 * Every check of a password or PIN goes through here. Two bounds: the throttle, which counts an
 * attempt before its hash is checked (so parallel guesses cannot outrun it), and a box-wide cap
 * on scrypt hashes in flight, so a burst from many places cannot fill the thread pool that file
 * I/O needs. A guess beyond the cap is answered at once (AUTH_BUSY) rather than queued; hashing
 * a new password for a signed-in change waits its turn instead.
 */
export class PasswordChecks {
  readonly throttle: LoginThrottle;
  private readonly maxInFlight: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most hashes ever in flight at once (tests and the bench read it). */
  peakInFlight = 0;
  /** Secrets actually hashed and compared by `check` since start (tests and the bench read it). */
  checked = 0;

  constructor(options: PasswordChecksOptions = {}) {
    this.throttle = options.throttle ?? new LoginThrottle();
    this.maxInFlight = options.maxInFlight ?? maxHashesInFlight;
  }

  /**
   * Checks a guess: reserves an attempt under `keys` (refused with `throttled` when they are
   * spent), takes a hashing slot (refused with AUTH_BUSY when none is free), then runs `verify`.
   * A false answer counts as a failure for every key, a true one clears them.
   */
  async check(
    keys: readonly ThrottleKey[],
    throttled: ThrottledError,
    verify: () => Promise<boolean>,
  ): Promise<boolean> {
    const reservation = this.throttle.reserve(keys);
    if (!reservation.ok) throw throttled(Math.ceil(reservation.waitMs / 1000));
    const { attempt } = reservation;
    if (!this.tryEnter()) {
      attempt.cancel();
      throw new BivouacError(
        'AUTH_BUSY',
        `Too many passwords are being checked at this moment (${this.maxInFlight} at once at most); try again in a second.`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    let isRight = false;
    try {
      this.checked += 1;
      isRight = await verify();
    } finally {
      this.leave();
      if (isRight) attempt.succeed();
      else attempt.fail();
    }
    return isRight;
  }

  /** Runs a hash for a signed-in change (a new password or PIN) once a slot is free. */
  async hash<T>(work: () => Promise<T>): Promise<T> {
    // A waiter is handed the slot of the hash that finishes (see leave), never racing for it.
    if (!this.tryEnter()) await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      this.leave();
    }
  }

  private tryEnter(): boolean {
    if (this.running >= this.maxInFlight || this.waiting.length > 0) return false;
    this.running += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.running);
    return true;
  }

  /** Frees a slot, or hands it straight to the first waiter, so the count never goes over. */
  private leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running -= 1;
  }
}

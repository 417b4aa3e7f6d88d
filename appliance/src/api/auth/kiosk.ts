import { visibleToAll } from '../../domain/access.ts';
import { domainEvent } from '../../domain/events.ts';
import { BivouacError } from '../../errors.ts';
import type { MainDocument } from '../../store/document.ts';
import type { EventLog } from '../../store/event-log.ts';
import type { Store } from '../../store/store.ts';
import type { Principal } from './accounts.ts';
import { PasswordChecks } from './password-checks.ts';
import { hashPassword, verifyPassword } from '../../secrets.ts';

export interface KioskStatus {
  /** An administrator has set the PIN that leaves kiosk mode. */
  pinSet: boolean;
  /** The asking session is locked to the app store. */
  locked: boolean;
  /** The asking session is the box's own screen (a kiosk session), the only kind that can lock. */
  isScreen: boolean;
}

export interface KioskOptions {
  store: Store<MainDocument>;
  events: EventLog;
  /** Shared with sign-in (one throttle, one cap on hashing); the kiosk's keys have their own prefix. */
  checks?: PasswordChecks;
}

/**
 * Kiosk mode for the box's screen: a browser session locked to the app store until someone
 * gives the administrator's PIN. The lock lives on the session in the store, so a reload or a
 * restart of the appliance does not open the rest of the UI; the PIN is kept scrypt-hashed.
 *
 * Only a kiosk session (the box's own screen: signed in on the local listener with its screen id)
 * can lock itself or try the PIN, so no other session is a PIN oracle. Guesses are throttled per
 * screen and per user, never box-wide, so wrong guesses elsewhere cannot keep a screen locked.
 */
export class Kiosk {
  private readonly store: Store<MainDocument>;
  private readonly events: EventLog;
  private readonly checks: PasswordChecks;

  constructor(options: KioskOptions) {
    this.store = options.store;
    this.events = options.events;
    this.checks = options.checks ?? new PasswordChecks();
  }

  get pinSet(): boolean {
    return this.store.data.settings.kioskPinHash !== null;
  }

  status(principal: Principal): KioskStatus {
    return {
      pinSet: this.pinSet,
      locked: isLocked(principal),
      isScreen: screenOf(principal) !== null,
    };
  }

  async setPin(principal: Principal, pin: string): Promise<KioskStatus> {
    const hash = await this.checks.hash(() => hashPassword(pin));
    await this.store.update((document) => {
      document.settings.kioskPinHash = hash;
    });
    this.announce('kiosk.pin-set', principal.user.id);
    return this.status(principal);
  }

  /** Clears the PIN; screens locked to the store are released, since no PIN could unlock them. */
  async clearPin(principal: Principal): Promise<void> {
    await this.store.update((document) => {
      document.settings.kioskPinHash = null;
      for (const session of document.sessions) delete session.kiosk;
    });
    this.announce('kiosk.pin-cleared', principal.user.id);
  }

  /** Locks the asking kiosk session to the store; refused until there is a PIN to leave with. */
  async lock(principal: Principal): Promise<KioskStatus> {
    const sessionId = principal.session?.id;
    if (!sessionId) {
      throw new BivouacError(
        'FORBIDDEN',
        'Kiosk mode is for a signed-in browser session, not an API token.',
      );
    }
    requireScreen(principal);
    if (!this.pinSet) {
      throw new BivouacError(
        'KIOSK_PIN_NOT_SET',
        'Set a kiosk PIN first (an administrator, under App Store → Kiosk mode); without one, kiosk mode could not be left.',
      );
    }
    await this.setLocked(sessionId, true);
    this.announce('kiosk.locked', principal.user.id);
    return { pinSet: true, locked: true, isScreen: true };
  }

  /**
   * Leaves kiosk mode with the PIN. Only a kiosk session may try; an unlocked one just gets its
   * status. Guesses are counted before they are checked, per screen and per user.
   */
  async unlock(principal: Principal, pin: string): Promise<KioskStatus> {
    const screenId = requireScreen(principal);
    const sessionId = principal.session?.id;
    if (!sessionId || !isLocked(principal)) return this.status(principal);
    const hash = this.store.data.settings.kioskPinHash;
    const keys = [`pin:screen:${screenId}`, `pin:user:${principal.user.id}`];
    const isRight = await this.checks.check(
      keys,
      (retryAfterSeconds) =>
        new BivouacError(
          'PIN_THROTTLED',
          `Too many wrong PINs; try again in ${retryAfterSeconds} s.`,
          { retryAfterSeconds },
        ),
      async () => hash !== null && (await verifyPassword(pin, hash)),
    );
    if (!isRight) throw new BivouacError('WRONG_PIN', 'Wrong PIN.');
    await this.setLocked(sessionId, false);
    this.announce('kiosk.unlocked', principal.user.id);
    return { pinSet: true, locked: false, isScreen: true };
  }

  private async setLocked(sessionId: string, locked: boolean): Promise<void> {
    await this.store.update((document) => {
      const session = document.sessions.find((candidate) => candidate.id === sessionId);
      if (!session)
        throw new BivouacError('UNAUTHENTICATED', 'The session has ended; sign in again.');
      if (locked) session.kiosk = true;
      else delete session.kiosk;
    });
  }

  /** Every screen reloads its kiosk status on these; they never carry the PIN. */
  private announce(
    type: 'kiosk.pin-set' | 'kiosk.pin-cleared' | 'kiosk.locked' | 'kiosk.unlocked',
    actor: string,
  ): void {
    this.events.append(
      domainEvent(type, 'box', visibleToAll('system'), { pinSet: this.pinSet, actor }),
    );
  }
}

/** Is this principal's session locked to the app store? */
export function isLocked(principal: Principal | null): boolean {
  return principal?.session?.kiosk === true;
}

/** What every route outside the app store answers a session locked to it. */
export function kioskLocked(): BivouacError {
  return new BivouacError(
    'KIOSK_LOCKED',
    'This screen is in kiosk mode: only the app store is open. Leave kiosk mode with the PIN first.',
  );
}

/** The box screen a kiosk session belongs to, or null for any other session or token. */
export function screenOf(principal: Principal | null): string | null {
  return principal?.session?.screenId ?? null;
}

function requireScreen(principal: Principal): string {
  const screenId = screenOf(principal);
  if (screenId === null) {
    throw new BivouacError(
      'KIOSK_SCREEN_ONLY',
      "Only the box's own screen can be locked to the app store or unlocked with the PIN: sign in there (the local listener) as a kiosk screen.",
    );
  }
  return screenId;
}

/** The screen a run was started from (null: from no screen, or no such run). */
export type RunScreens = (runId: string) => string | null;

/** What a session locked to the app store may still hear about: what its routes may read. */
const kindsShownWhenLocked = new Set(['app', 'kiosk', 'cloud', 'capacity']);

/**
 * Whether an event goes to a session locked to the app store: the store's own kinds, and the
 * runs started from this very screen. Everything else (users, modules, other runs, the box's log)
 * stays with the unlocked UI, whoever signed the screen in.
 */
export function isShownWhenLocked(
  event: { subject: { kind: string; id: string } },
  principal: Principal,
  runScreens: RunScreens,
): boolean {
  if (kindsShownWhenLocked.has(event.subject.kind)) return true;
  const screenId = screenOf(principal);
  return (
    event.subject.kind === 'run' && screenId !== null && runScreens(event.subject.id) === screenId
  );
}

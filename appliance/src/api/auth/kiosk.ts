import { visibleToAll } from '../../domain/access.ts';
import { BivouacError } from '../../errors.ts';
import type { MainDocument } from '../../store/document.ts';
import type { EventLog } from '../../store/event-log.ts';
import type { Store } from '../../store/store.ts';
import type { Principal } from './accounts.ts';
import { LoginThrottle } from './login-throttle.ts';
import { hashPassword, verifyPassword } from './secrets.ts';

export interface KioskStatus {
  /** An administrator has set the PIN that leaves kiosk mode. */
  pinSet: boolean;
  /** The asking session is locked to the app store. */
  locked: boolean;
}

export interface KioskOptions {
  store: Store<MainDocument>;
  events: EventLog;
  /** Shared with sign-in so tests can tune it; the kiosk's keys have their own prefix. */
  throttle?: LoginThrottle;
}

/**
 * Kiosk mode for the box's screen: a browser session locked to the app store until someone
 * gives the administrator's PIN. The lock lives on the session in the store, so a reload or a
 * restart of the appliance does not open the rest of the UI; the PIN is kept scrypt-hashed and
 * guesses are throttled like sign-ins (a PIN is short, so every wrong guess counts box-wide).
 */
export class Kiosk {
  private readonly store: Store<MainDocument>;
  private readonly events: EventLog;
  private readonly throttle: LoginThrottle;

  constructor(options: KioskOptions) {
    this.store = options.store;
    this.events = options.events;
    this.throttle = options.throttle ?? new LoginThrottle();
  }

  get pinSet(): boolean {
    return this.store.data.settings.kioskPinHash !== null;
  }

  status(principal: Principal): KioskStatus {
    return { pinSet: this.pinSet, locked: isLocked(principal) };
  }

  async setPin(principal: Principal, pin: string): Promise<KioskStatus> {
    const hash = await hashPassword(pin);
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

  /** Locks the asking browser session to the store; refused until there is a PIN to leave with. */
  async lock(principal: Principal): Promise<KioskStatus> {
    const sessionId = principal.session?.id;
    if (!sessionId) {
      throw new BivouacError(
        'FORBIDDEN',
        'Kiosk mode is for a signed-in browser session, not an API token.',
      );
    }
    if (!this.pinSet) {
      throw new BivouacError(
        'KIOSK_PIN_NOT_SET',
        'Set a kiosk PIN first (an administrator, under App Store → Kiosk mode); without one, kiosk mode could not be left.',
      );
    }
    await this.setLocked(sessionId, true);
    this.announce('kiosk.locked', principal.user.id);
    return { pinSet: true, locked: true };
  }

  /** Leaves kiosk mode with the PIN; wrong guesses are throttled. Unlocked sessions just get their status. */
  async unlock(principal: Principal, pin: string, clientAddress: string): Promise<KioskStatus> {
    const sessionId = principal.session?.id;
    if (!sessionId || !isLocked(principal)) return this.status(principal);
    const keys = ['kiosk:box', `kiosk:ip:${clientAddress}`];
    const waitMs = this.throttle.waitMs(keys);
    if (waitMs > 0) {
      const retryAfterSeconds = Math.ceil(waitMs / 1000);
      throw new BivouacError(
        'PIN_THROTTLED',
        `Too many wrong PINs; try again in ${retryAfterSeconds} s.`,
        { retryAfterSeconds },
      );
    }
    const hash = this.store.data.settings.kioskPinHash;
    if (hash === null || !(await verifyPassword(pin, hash))) {
      this.throttle.recordFailure(keys);
      throw new BivouacError('WRONG_PIN', 'Wrong PIN.');
    }
    this.throttle.recordSuccess(keys);
    await this.setLocked(sessionId, false);
    this.announce('kiosk.unlocked', principal.user.id);
    return { pinSet: true, locked: false };
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
  private announce(type: string, actor: string): void {
    this.events.append({
      type,
      subject: { kind: 'kiosk', id: 'box' },
      access: visibleToAll('system'),
      data: { pinSet: this.pinSet, actor },
    });
  }
}

/** Is this principal's session locked to the app store? */
export function isLocked(principal: Principal | null): boolean {
  return principal?.session?.kiosk === true;
}

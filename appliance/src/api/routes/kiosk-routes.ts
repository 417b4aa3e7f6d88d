import type { Kiosk } from '../auth/kiosk.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

type KioskHandlers = 'getKiosk' | 'setKioskPin' | 'clearKioskPin' | 'lockKiosk' | 'unlockKiosk';

/** Kiosk mode for the box's screen: the administrator's PIN, locking a session, leaving with the PIN. */
export function kioskHandlers(kiosk: Kiosk): Pick<Handlers, KioskHandlers> {
  return {
    getKiosk: async (_input, context) => kiosk.status(signedIn(context)),
    setKioskPin: async ({ body }, context) => kiosk.setPin(signedIn(context), body.pin),
    clearKioskPin: async (_input, context) => {
      await kiosk.clearPin(signedIn(context));
      return null;
    },
    lockKiosk: async (_input, context) => kiosk.lock(signedIn(context)),
    unlockKiosk: async ({ body }, context) => kiosk.unlock(signedIn(context), body.pin),
  };
}

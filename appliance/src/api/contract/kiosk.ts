import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of kiosk mode. */
export const kioskRoutes = {
  getKiosk: {
    method: 'GET',
    path: '/kiosk',
    tag: 'kiosk',
    auth: 'user',
    inKiosk: true,
    summary: 'Whether a kiosk PIN is set and whether this session is locked to the app store',
    response: s.KioskStatus,
  },
  setKioskPin: {
    method: 'PUT',
    path: '/kiosk/pin',
    tag: 'kiosk',
    auth: 'admin',
    summary: 'Set the PIN that leaves kiosk mode (kept scrypt-hashed)',
    body: s.KioskPin,
    response: s.KioskStatus,
  },
  clearKioskPin: {
    method: 'DELETE',
    path: '/kiosk/pin',
    tag: 'kiosk',
    auth: 'admin',
    status: 204,
    summary: 'Clear the kiosk PIN; screens locked to the app store are released',
    response: s.Empty,
  },
  lockKiosk: {
    method: 'POST',
    path: '/kiosk/lock',
    tag: 'kiosk',
    auth: 'user',
    summary: 'Lock this browser session to the app store until the PIN is given (needs a PIN set)',
    response: s.KioskStatus,
  },
  unlockKiosk: {
    method: 'POST',
    path: '/kiosk/unlock',
    tag: 'kiosk',
    auth: 'user',
    inKiosk: true,
    summary: 'Leave kiosk mode with the PIN; wrong PINs are throttled',
    body: s.KioskPin,
    response: s.KioskStatus,
  },
} as const satisfies Record<string, RouteContract>;

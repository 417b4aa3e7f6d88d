import { create } from 'zustand';
import { call } from '../../api/client.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';

interface KioskState {
  /** null until the appliance answered for this session. */
  locked: boolean | null;
  pinSet: boolean;
  /** This session is the box's own screen (a kiosk session), the only kind that can lock. */
  isScreen: boolean;
  /** Asks the appliance; a kiosk event from another screen (a PIN set or cleared) asks again. */
  load(): Promise<void>;
  lock(): Promise<void>;
  /** Throws the appliance's error (wrong PIN, throttled) for the PIN pad to show. */
  unlock(pin: string): Promise<void>;
  setPin(pin: string): Promise<void>;
  clearPin(): Promise<void>;
}

/**
 * Kiosk mode of this screen. The lock lives on the session in the appliance, which refuses
 * everything but the store while it holds; this store only mirrors it so the UI shows the store alone.
 */
export const useKiosk = forgetOnSignOut(
  create<KioskState>((set) => ({
    locked: null,
    pinSet: false,
    isScreen: false,
    async load() {
      const status = await call('getKiosk');
      set(status);
    },
    async lock() {
      set(await call('lockKiosk'));
    },
    async unlock(pin) {
      set(await call('unlockKiosk', { body: { pin } }));
    },
    async setPin(pin) {
      set(await call('setKioskPin', { body: { pin } }));
    },
    async clearPin() {
      await call('clearKioskPin');
      set({ pinSet: false, locked: false });
    },
  })),
);

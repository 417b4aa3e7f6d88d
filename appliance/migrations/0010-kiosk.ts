import type { Migration } from '../src/store/document.ts';

/** The kiosk PIN that leaves kiosk mode on the box's screen: none until an administrator sets one. */
export const migration: Migration = {
  version: 10,
  description: 'kiosk PIN',
  up(document) {
    const settings = (document.settings ?? {}) as Record<string, unknown>;
    document.settings = { ...settings, kioskPinHash: null };
  },
};

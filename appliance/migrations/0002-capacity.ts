import type { Migration } from '../src/store/document.ts';

/** Capacity reservations and per-user quotas. */
export const migration: Migration = {
  version: 2,
  description: 'capacity reservations and per-user quotas',
  up(document) {
    document.reservations = [];
    document.quotas = {};
  },
};

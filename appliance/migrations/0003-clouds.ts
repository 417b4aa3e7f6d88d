import type { Migration } from '../src/store/document.ts';

/** Remote clouds (connector instances) added by administrators. */
export const migration: Migration = {
  version: 3,
  description: 'connector instances (clouds)',
  up(document) {
    document.clouds = [];
  },
};

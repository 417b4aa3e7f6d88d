import type { Migration } from '../src/store/document.ts';

/** Runs remember the values they were given, and upgrades link the old run and the new. */
export const migration: Migration = {
  version: 8,
  description: 'run upgrades',
  up(document) {
    for (const run of (document.runs as Record<string, unknown>[] | undefined) ?? []) {
      run.given ??= {};
      run.upgrade ??= null;
      run.upgradeOf ??= null;
    }
  },
};

import type { Migration } from '../src/store/document.ts';

/** The app store, trusted publishers, and whether unsigned bundles may install. */
export const migration: Migration = {
  version: 9,
  description: 'apps and publishers',
  up(document) {
    document.apps = [];
    document.publishers = [];
    document.settings = { allowUnsignedBundles: false };
  },
};

import type { Migration } from '../src/store/document.ts';

/** Records of the VMs Bivouac launched, for the reconciler. */
export const migration: Migration = {
  version: 4,
  description: 'VM records',
  up(document) {
    document.vms = [];
  },
};

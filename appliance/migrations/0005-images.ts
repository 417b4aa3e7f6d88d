import type { Migration } from '../src/store/document.ts';

/** The image store's records; VMs remember which image they boot from. */
export const migration: Migration = {
  version: 5,
  description: 'base images',
  up(document) {
    document.images = [];
    for (const vm of (document.vms as Record<string, unknown>[] | undefined) ?? [])
      vm.imageId ??= null;
  },
};

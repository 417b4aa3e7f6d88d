import type { Migration } from '../src/store/document.ts';

/**
 * Images keep a disk's virtual size, so a run whose disk is smaller than its base image is
 * refused when it is asked for. Images stored before have none yet (null): the check of every
 * stored image at start reads it.
 */
export const migration: Migration = {
  version: 14,
  description: "images keep a disk's virtual size",
  up(document) {
    for (const image of (document.images as Record<string, unknown>[] | undefined) ?? [])
      image.virtualBytes ??= null;
  },
};

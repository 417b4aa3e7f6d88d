import type { Migration } from '../src/store/document.ts';

/** The module tree: projects, images and deployments with their versions. */
export const migration: Migration = {
  version: 6,
  description: 'modules with versions',
  up(document) {
    document.modules = [];
  },
};

import type { Migration } from '../src/store/document.ts';

/**
 * Runs keep what their nodes took from their image chains by reference (the chain's module
 * versions and a hash of the content). Runs made before keep their copy (no hash).
 */
export const migration: Migration = {
  version: 16,
  description: "runs' node content by reference",
  up(document) {
    for (const run of (document.runs as { nodes?: Record<string, unknown>[] }[] | undefined) ?? [])
      for (const node of run.nodes ?? []) node.contentHash ??= null;
  },
};

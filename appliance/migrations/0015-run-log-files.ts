import type { Migration } from '../src/store/document.ts';

/**
 * Run logs move out of the main document into a file per run: a run counts the entries it has
 * logged, and the entries it holds are the newest not yet in its file. At the first start after
 * this step, the runs that stay in the document write theirs to their files and drop them; the
 * finished runs that move to the archive take theirs along.
 */
export const migration: Migration = {
  version: 15,
  description: 'run logs in files of their own',
  up(document) {
    for (const run of (document.runs as Record<string, unknown>[] | undefined) ?? [])
      run.logged ??= Array.isArray(run.log) ? run.log.length : 0;
  },
};

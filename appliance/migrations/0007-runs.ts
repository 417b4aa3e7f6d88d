import type { Migration } from '../src/store/document.ts';

/** Runs and the orchestrator's persistent job queue. */
export const migration: Migration = {
  version: 7,
  description: 'runs and jobs',
  up(document) {
    document.runs = [];
    document.jobs = [];
  },
};

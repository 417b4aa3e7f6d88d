import type { Migration } from '../src/store/document.ts';

/** The first schema: accounts, browser sessions and API tokens. */
export const migration: Migration = {
  version: 1,
  description: 'users, sessions and API tokens',
  up(document) {
    document.users = [];
    document.sessions = [];
    document.apiTokens = [];
  },
};

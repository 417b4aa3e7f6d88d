import { userGeneration } from './user-data.ts';

/** Tells whether the answer to a request may still be shown. */
export type IsLatest = () => boolean;

/**
 * Latest request wins: `start(key)` marks a new request for `key` and hands back its `isLatest`,
 * which turns false once a newer request for the same key starts (or the user changes). An answer
 * that arrives late (a slow level filter, an older version, a previous metric) is then dropped
 * instead of overwriting the newer one.
 */
export function latestWins<K = string>(): { start(key: K): IsLatest } {
  const latest = new Map<K, number>();
  let sequence = 0;
  return {
    start(key) {
      sequence += 1;
      const mine = sequence;
      const generation = userGeneration();
      latest.set(key, mine);
      return () => latest.get(key) === mine && userGeneration() === generation;
    },
  };
}

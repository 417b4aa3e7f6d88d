import { asApiError, type ApiError } from './client.ts';
import { latestWins } from './latest.ts';

/** One part of a page: its latest answer, and the error of the last attempt if it failed. */
export interface Loaded<T> {
  value: T | null;
  error: ApiError | null;
}

/** Nothing asked yet. */
export const notLoaded: Loaded<never> = { value: null, error: null };

type LoadedKey<S> = { [K in keyof S]: S[K] extends Loaded<unknown> ? K : never }[keyof S];
type ValueOf<L> = L extends Loaded<infer T> ? T : never;

/**
 * The loader of a store's `Loaded` parts: the latest request per part wins, and a failure keeps
 * the last answer beside the error, so a page never blanks out for a passing failure.
 * `invalidate(part)` drops the answers of requests in flight (for a new choice of what to load).
 */
export function partLoader<S>(set: (update: (state: S) => Partial<S>) => void): {
  load<K extends LoadedKey<S>>(part: K, fetch: () => Promise<ValueOf<S[K]>>): Promise<void>;
  invalidate(part: LoadedKey<S>): void;
} {
  const requests = latestWins<LoadedKey<S>>();
  return {
    async load(part, fetch) {
      const isLatest = requests.start(part);
      try {
        const value = await fetch();
        if (isLatest()) set(() => ({ [part]: { value, error: null } }) as Partial<S>);
      } catch (error) {
        if (isLatest())
          set(
            (state) =>
              ({
                [part]: { value: (state[part] as Loaded<unknown>).value, error: asApiError(error) },
              }) as Partial<S>,
          );
      }
    },
    invalidate(part) {
      requests.start(part);
    },
  };
}

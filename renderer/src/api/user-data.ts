/**
 * What the screen knows belongs to whoever is signed in. Every feature store registers here
 * (`forgetOnSignOut`), and the session calls `forgetUserData()` when one user signs out or another
 * signs in, so nobody sees the previous user's capacity rows, module tree or runs, not even for a
 * moment. Answers to requests sent for the previous user are dropped too: each request notes the
 * generation it was sent in (`userGeneration()`), and one sent before a change no longer counts.
 */

const resets = new Set<() => void>();
let generation = 0;

/** A zustand store as far as forgetting needs it. */
interface ResettableStore<S> {
  getInitialState(): S;
  setState(state: S, replace: true): void;
}

/** Registers `store` to go back to its initial state when the user changes; returns it. */
export function forgetOnSignOut<S, T extends ResettableStore<S>>(store: T): T {
  resets.add(() => store.setState(store.getInitialState(), true));
  return store;
}

/** Every registered store back to its initial state; requests still in flight no longer count. */
export function forgetUserData(): void {
  generation += 1;
  for (const reset of resets) reset();
}

/** Bumped by every `forgetUserData()`. */
export function userGeneration(): number {
  return generation;
}

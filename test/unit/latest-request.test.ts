import { describe, expect, it } from 'vitest';
import { create } from 'zustand';
import { ApiError } from '../../renderer/src/api/client.ts';
import { latestWins } from '../../renderer/src/api/latest.ts';
import { notLoaded, partLoader, type Loaded } from '../../renderer/src/api/loaded.ts';
import { forgetOnSignOut, forgetUserData } from '../../renderer/src/api/user-data.ts';

/** A promise the test settles when it wants, to let answers arrive out of order. */
function deferred<T>(): {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

interface Parts {
  logs: Loaded<string[]>;
  facts: Loaded<number>;
}

function partsStore() {
  const store = create<Parts>(() => ({ logs: notLoaded, facts: notLoaded }));
  return { store, parts: partLoader<Parts>(store.setState) };
}

describe('latest request wins', () => {
  it('marks a request stale once a newer one for the same key starts, not for other keys', () => {
    const requests = latestWins<string>();
    const first = requests.start('logs');
    const other = requests.start('facts');
    expect(first()).toBe(true);
    const second = requests.start('logs');
    expect(first()).toBe(false);
    expect(second()).toBe(true);
    expect(other()).toBe(true);
  });

  it('drops an older answer that arrives after a newer one (a slow level filter)', async () => {
    const { store, parts } = partsStore();
    const slow = deferred<string[]>();
    const fast = deferred<string[]>();
    const all = parts.load('logs', () => slow.promise);
    const errorsOnly = parts.load('logs', () => fast.promise);
    fast.resolve(['error line']);
    await errorsOnly;
    slow.resolve(['info line', 'error line']);
    await all;
    expect(store.getState().logs).toEqual({ value: ['error line'], error: null });
  });

  it('keeps the last value beside the error when a load fails', async () => {
    const { store, parts } = partsStore();
    await parts.load('facts', async () => 7);
    await parts.load('facts', async () => {
      throw new ApiError(503, 'UNREACHABLE', 'The box does not answer.');
    });
    const facts = store.getState().facts;
    expect(facts.value).toBe(7);
    expect(facts.error?.message).toBe('The box does not answer.');
    await parts.load('facts', async () => {
      throw new Error('boom');
    });
    expect(store.getState().facts.error).toMatchObject({ code: 'INTERNAL', message: 'boom' });
  });

  it('drops answers in flight when invalidated (a new choice of what to load)', async () => {
    const { store, parts } = partsStore();
    const pending = deferred<number>();
    const load = parts.load('facts', () => pending.promise);
    parts.invalidate('facts');
    pending.resolve(1);
    await load;
    expect(store.getState().facts).toEqual(notLoaded);
  });
});

describe('forgetting user data', () => {
  it('puts every registered store back to its initial state and drops answers for the previous user', async () => {
    const useAdminData = forgetOnSignOut(
      create<{ rows: string[]; add(row: string): void }>((set) => ({
        rows: [],
        add: (row) => set((state) => ({ rows: [...state.rows, row] })),
      })),
    );
    useAdminData.getState().add('admin');
    const { store, parts } = partsStore();
    const adminAnswer = deferred<number>();
    const load = parts.load('facts', () => adminAnswer.promise);

    forgetUserData();
    expect(useAdminData.getState().rows).toEqual([]);
    adminAnswer.resolve(42);
    await load;
    expect(store.getState().facts).toEqual(notLoaded);
    // The store still works for the next user.
    useAdminData.getState().add('operator');
    expect(useAdminData.getState().rows).toEqual(['operator']);
  });
});

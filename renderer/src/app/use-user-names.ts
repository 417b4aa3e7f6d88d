import { useCallback, useMemo } from 'react';
import { create } from 'zustand';
import { call } from '../api/client.ts';
import { forgetOnSignOut, userGeneration } from '../api/user-data.ts';
import { useApp } from './store.ts';
import { useKiosk } from '../features/kiosk/kiosk-store.ts';
import { useLiveLoad } from './live.ts';

/**
 * The names, kept once for the whole screen: every component that shows owners or sharing rules
 * reads them here, and loads asked at the same time (a page and a panel inside it, or both on a
 * user event) share one request.
 */
const useNames = forgetOnSignOut(
  create<{ names: ReadonlyMap<string, string>; load(): Promise<void> }>((set) => {
    let inFlight: Promise<void> | null = null;
    return {
      names: new Map(),
      load() {
        inFlight ??= (async () => {
          const generation = userGeneration();
          try {
            const users = await call('userNames');
            if (generation === userGeneration())
              set({ names: new Map(users.map((user) => [user.id, user.username])) });
          } finally {
            inFlight = null;
          }
        })();
        return inFlight;
      },
    };
  }),
);

/**
 * User names by id, to show who owns a run or a module, or whom a rule shares it with: every
 * user's, except on a kiosk screen, where only yourself is known.
 */
export function useUserNames(): Map<string, string> {
  const self = useApp((state) => state.session?.user);
  const mayList = useKiosk((state) => state.locked !== true) && self !== undefined;
  const names = useNames((state) => state.names);
  const loadNames = useNames((state) => state.load);
  const load = useCallback(async () => {
    if (mayList) await loadNames();
  }, [mayList, loadNames]);
  useLiveLoad(load, (event) => event.subject.kind === 'user');
  return useMemo(() => {
    const known = new Map(mayList ? names : []);
    if (self && !known.has(self.id)) known.set(self.id, self.username);
    return known;
  }, [names, self, mayList]);
}

import { useCallback, useState } from 'react';
import { call } from '../api/client.ts';
import { useApp } from './store.ts';
import { useKiosk } from '../features/kiosk/kiosk-store.ts';
import { useLiveLoad } from './live.ts';

/**
 * User names by id, to show who owns a run or a module, or whom a rule shares it with: every
 * user's, except on a kiosk screen, where only yourself is known.
 */
export function useUserNames(): Map<string, string> {
  const self = useApp((state) => state.session?.user);
  const mayList = useKiosk((state) => state.locked !== true) && self !== undefined;
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const load = useCallback(async () => {
    if (!mayList) return;
    const users = await call('userNames');
    setNames(new Map(users.map((user) => [user.id, user.username])));
  }, [mayList]);
  useLiveLoad(load, (event) => event.subject.kind === 'user');
  if (self && !names.has(self.id)) return new Map([...names, [self.id, self.username]]);
  return names;
}

import { useEffect } from 'react';
import { useApp } from '../../app/store.ts';
import { useEventStream } from '../../app/live.ts';
import { useKiosk } from './kiosk-store.ts';

/**
 * Whether this screen is locked to the app store: asked once signed in, and again when a kiosk
 * event says something changed (a PIN cleared elsewhere releases the screen). Null while unknown.
 */
export function useKioskStatus(): boolean | null {
  const session = useApp((state) => state.session);
  const locked = useKiosk((state) => state.locked);
  const load = useKiosk((state) => state.load);
  useEffect(() => {
    // The appliance enforces the lock whatever this says; if it cannot be asked, show the full UI and
    // its errors. Signing out forgets it with every other store (api/user-data.ts).
    if (session) void load().catch(() => useKiosk.setState({ locked: false }));
  }, [session, load]);
  useEventStream(
    (event) => {
      if (event.subject.kind === 'kiosk') void load().catch(() => undefined);
    },
    () => void load().catch(() => undefined),
  );
  return locked;
}

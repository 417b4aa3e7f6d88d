import { create } from 'zustand';
import type { RouteOutput } from '../../../appliance/src/api/contract.ts';
import { ApiError, call, setCsrfToken } from '../api/client.ts';
import { followEvents, type LiveEvent } from '../api/events.ts';
import { forgetUserData } from '../api/user-data.ts';

type Setup = RouteOutput<'getSetup'>;
type Session = RouteOutput<'getSession'>;

interface AppState {
  setup: Setup | null;
  session: Session | null;
  /** Set while the first answers are awaited. */
  loading: boolean;
  connected: boolean;
  /** Bumped by every event; pages reload what the event is about. */
  lastEvent: LiveEvent | null;
  resets: number;
  load(): Promise<void>;
  signedIn(session: Session): void;
  signOut(): Promise<void>;
}

let stopEvents: (() => void) | null = null;
/** Whose data the feature stores hold: a different user signing in makes them forget it. */
let dataOwner: string | null = null;

/** The session and the live event stream, shared by every page. */
export const useApp = create<AppState>((set, get) => ({
  setup: null,
  session: null,
  loading: true,
  connected: false,
  lastEvent: null,
  resets: 0,
  async load() {
    const setup = await call('getSetup');
    let session: Session | null = null;
    if (!setup.needsAdmin) {
      try {
        session = await call('getSession');
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) throw error;
      }
    }
    set({ setup, loading: false });
    if (session) get().signedIn(session);
  },
  signedIn(session) {
    if (dataOwner !== null && dataOwner !== session.user.id) forgetUserData();
    dataOwner = session.user.id;
    setCsrfToken(session.csrfToken);
    set((state) => ({
      session,
      setup: state.setup ? { ...state.setup, needsAdmin: false } : state.setup,
    }));
    stopEvents?.();
    stopEvents = followEvents({
      onEvent: (event) => set({ lastEvent: event }),
      onReset: () => set((state) => ({ resets: state.resets + 1 })),
      onStatus: (connected) => set({ connected }),
    });
  },
  async signOut() {
    stopEvents?.();
    stopEvents = null;
    await call('logout').catch(() => undefined);
    setCsrfToken(null);
    set({ session: null, connected: false, lastEvent: null });
    // Whoever signs in next sees nothing of this user's, not even while their own data loads.
    forgetUserData();
    dataOwner = null;
  },
}));

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
  /**
   * The box has not beaten for two of its heartbeat intervals: it does not answer (stopped,
   * silent, or the network to it is gone). The page keeps retrying; the next beat clears it.
   */
  boxLost: boolean;
  /** Bumped by every event; pages reload what the event is about. */
  lastEvent: LiveEvent | null;
  resets: number;
  load(): Promise<void>;
  signedIn(session: Session): void;
  signOut(): Promise<void>;
}

let stopEvents: (() => void) | null = null;
let stopWatch: (() => void) | null = null;

/**
 * Times the box's heartbeats: lost once two intervals pass without one. Returns the function each
 * beat calls, and the stop.
 */
function watchHeartbeats(setLost: (lost: boolean) => void) {
  let lastBeat = Date.now();
  let intervalMs: number | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;
  const check = () => {
    if (intervalMs !== null && Date.now() - lastBeat > 2 * intervalMs) setLost(true);
  };
  return {
    beat(everyMs: number) {
      lastBeat = Date.now();
      setLost(false);
      if (everyMs === intervalMs) return;
      // Checked four times an interval: said at most a quarter interval after the second miss.
      intervalMs = everyMs;
      if (timer) clearInterval(timer);
      timer = setInterval(check, Math.max(100, everyMs / 4));
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}
/** Whose data the feature stores hold: a different user signing in makes them forget it. */
let dataOwner: string | null = null;

/** The session and the live event stream, shared by every page. */
export const useApp = create<AppState>((set, get) => ({
  setup: null,
  session: null,
  loading: true,
  connected: false,
  boxLost: false,
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
    stopWatch?.();
    // Set only when it changes: a beat every interval re-renders nothing.
    const heartbeats = watchHeartbeats((lost) => {
      if (get().boxLost !== lost) set({ boxLost: lost });
    });
    stopWatch = heartbeats.stop;
    stopEvents = followEvents({
      onEvent: (event) => set({ lastEvent: event }),
      onReset: () => set((state) => ({ resets: state.resets + 1 })),
      onStatus: (connected) => set({ connected }),
      onHeartbeat: (intervalMs) => heartbeats.beat(intervalMs),
    });
  },
  async signOut() {
    stopEvents?.();
    stopEvents = null;
    stopWatch?.();
    stopWatch = null;
    await call('logout').catch(() => undefined);
    setCsrfToken(null);
    set({ session: null, connected: false, boxLost: false, lastEvent: null });
    // Whoever signs in next sees nothing of this user's, not even while their own data loads.
    forgetUserData();
    dataOwner = null;
  },
}));

import { useEffect, useMemo, useRef } from 'react';
import type { LiveEvent } from '../api/events.ts';
import { useApp } from './store.ts';

/**
 * Calls `onEvent` for every event of the stream, and `onReset` when the stream could not replay
 * what was missed. It subscribes to the store directly, so events that arrive together are never
 * folded into the last one as a selected `lastEvent` would be.
 */
export function useEventStream(onEvent: (event: LiveEvent) => void, onReset: () => void): void {
  const handlers = useRef({ onEvent, onReset });
  useEffect(() => {
    handlers.current = { onEvent, onReset };
  });
  useEffect(
    () =>
      useApp.subscribe((state, previous) => {
        if (state.lastEvent && state.lastEvent !== previous.lastEvent)
          handlers.current.onEvent(state.lastEvent);
        if (state.resets !== previous.resets) handlers.current.onReset();
      }),
    [],
  );
}

/**
 * A reload that runs at most once at a time: asked again while it runs, it runs once more after,
 * so a burst of events costs two loads, not one per event.
 */
export function coalesced(load: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void load()
      .catch(() => undefined)
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}

/**
 * Loads now, and again whenever an event `matches` (or the stream was reset): live, never polled.
 * Progress ticks (`*.progress`, several a second during an import) never reload anything: what
 * follows them is read from the events themselves, and the end of the work is its own event.
 */
export function useLiveLoad(
  load: () => Promise<void>,
  matches: (event: LiveEvent) => boolean,
): void {
  const refresh = useMemo(() => coalesced(load), [load]);
  const matcher = useRef(matches);
  useEffect(() => {
    matcher.current = matches;
  });
  useEffect(() => {
    refresh();
  }, [refresh]);
  useEventStream((event) => {
    if (!event.type.endsWith('.progress') && matcher.current(event)) refresh();
  }, refresh);
}

import type { LiveEvent } from '../../../appliance/src/domain/events.ts';

/** One event as the stream delivers it, typed by its type; transient ones (metrics ticks, progress) have no id. */
export type { LiveEvent };

export interface EventStreamHandlers {
  onEvent(event: LiveEvent): void;
  /** The server could not replay what was missed: reload everything. */
  onReset(): void;
  onStatus?(connected: boolean): void;
}

/**
 * Follows `GET /api/v1/events`, reconnecting with backoff after a drop and resuming after the
 * last event it saw (the server replays the gap, or sends `reset`). Returns the stop.
 */
export function followEvents(handlers: EventStreamHandlers): () => void {
  let lastId: number | null = null;
  let source: EventSource | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let delay = 500;
  let stopped = false;

  const connect = (): void => {
    const url = lastId === null ? '/api/v1/events' : `/api/v1/events?lastEventId=${lastId}`;
    source = new EventSource(url);
    source.onopen = () => {
      delay = 500;
      handlers.onStatus?.(true);
    };
    source.onmessage = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as LiveEvent;
      // Resuming names the last durable event: transient ones are never replayed.
      if (event.id !== undefined) lastId = event.id;
      handlers.onEvent(event);
    };
    source.addEventListener('reset', (message) => {
      const { latestId } = JSON.parse((message as MessageEvent<string>).data) as {
        latestId: number;
      };
      lastId = latestId;
      handlers.onReset();
    });
    source.onerror = () => {
      source?.close();
      handlers.onStatus?.(false);
      if (stopped) return;
      retry = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15_000);
    };
  };
  connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    source?.close();
  };
}

import type { LiveEvent } from '../../../appliance/src/domain/events.ts';

/** One event as the stream delivers it, typed by its type; transient ones (metrics ticks, progress) have no id. */
export type { LiveEvent };

export interface EventStreamHandlers {
  onEvent(event: LiveEvent): void;
  /** The server could not replay what was missed: reload everything. */
  onReset(): void;
  onStatus?(connected: boolean): void;
  /** The box is there: it beats every `intervalMs` while the stream is open. */
  onHeartbeat?(intervalMs: number): void;
}

/** What the tab holding the stream tells the others, and what a tab that joins asks. */
type Shared =
  | { kind: 'event'; event: LiveEvent }
  | { kind: 'reset' }
  | { kind: 'status'; connected: boolean }
  | { kind: 'heartbeat'; intervalMs: number }
  | { kind: 'hello' };

const channelName = 'bivouac-events';
const lockName = 'bivouac-event-stream';

/**
 * Follows the box's events, one stream for the whole browser: a browser allows six connections
 * to a host over HTTP/1.1 (the box's own screen never gets HTTP/2), and a stream per tab would
 * leave a seventh page waiting. The tab that holds a Web Lock follows `GET /api/v1/events` and
 * passes every event to the other tabs over a BroadcastChannel; when it closes, the lock goes to
 * a waiting tab, which resumes after the last event all of them saw. Every tab applies every
 * event. Where the browser has neither, each tab follows its own stream. Returns the stop.
 */
export function followEvents(handlers: EventStreamHandlers): () => void {
  if (
    typeof BroadcastChannel === 'undefined' ||
    typeof navigator === 'undefined' ||
    !navigator.locks
  )
    return followStream(handlers, null);
  const channel = new BroadcastChannel(channelName);
  const stopped = new AbortController();
  let lastId: number | null = null;
  let leading = false;
  let connected = false;
  let heardOfLeader = false;
  let stopStream: (() => void) | null = null;
  let release: (() => void) | null = null;
  const tell = (message: Shared) => channel.postMessage(message);
  const seen = (event: LiveEvent) => {
    // Resuming names the last durable event: transient ones are never replayed.
    if (event.id !== undefined) lastId = event.id;
  };

  channel.onmessage = ({ data }: MessageEvent<Shared>) => {
    if (leading) {
      if (data.kind === 'hello') tell({ kind: 'status', connected });
      return;
    }
    heardOfLeader = true;
    if (data.kind === 'event') {
      seen(data.event);
      handlers.onEvent(data.event);
    } else if (data.kind === 'reset') handlers.onReset();
    else if (data.kind === 'status') handlers.onStatus?.(data.connected);
    else if (data.kind === 'heartbeat') handlers.onHeartbeat?.(data.intervalMs);
  };
  tell({ kind: 'hello' });

  navigator.locks
    .request(
      lockName,
      { signal: stopped.signal },
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          leading = true;
          // Taking over from a tab that closed before any event could name where to resume:
          // what came meanwhile is read again.
          if (heardOfLeader && lastId === null) handlers.onReset();
          stopStream = followStream(
            {
              onEvent: (event) => {
                seen(event);
                handlers.onEvent(event);
                tell({ kind: 'event', event });
              },
              onReset: () => {
                handlers.onReset();
                tell({ kind: 'reset' });
              },
              onStatus: (isConnected) => {
                connected = isConnected;
                handlers.onStatus?.(isConnected);
                tell({ kind: 'status', connected: isConnected });
              },
              onHeartbeat: (intervalMs) => {
                handlers.onHeartbeat?.(intervalMs);
                tell({ kind: 'heartbeat', intervalMs });
              },
            },
            lastId,
          );
        }),
    )
    // Stopped while waiting for the lock.
    .catch(() => undefined);

  return () => {
    stopped.abort();
    stopStream?.();
    release?.();
    channel.close();
  };
}

/**
 * Follows `GET /api/v1/events` in this tab, reconnecting with backoff after a drop and resuming
 * after the last event it saw (the server replays the gap, or sends `reset`). Returns the stop.
 */
function followStream(handlers: EventStreamHandlers, from: number | null): () => void {
  let lastId = from;
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
      if (event.id !== undefined) lastId = event.id;
      handlers.onEvent(event);
    };
    source.addEventListener('heartbeat', (message) => {
      const { intervalMs } = JSON.parse((message as MessageEvent<string>).data) as {
        intervalMs: number;
      };
      handlers.onHeartbeat?.(intervalMs);
    });
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

import type { FastifyInstance } from 'fastify';
import { canAccess } from '../../domain/access.ts';
import type { DeliveredEvent } from '../../domain/events.ts';
import { limits } from '../../domain/limits.ts';
import { BivouacError } from '../../errors.ts';
import type { EventLog } from '../../store/event-log.ts';
import type { Accounts, Principal } from '../auth/accounts.ts';
import { isLocked, isShownWhenLocked, type RunScreens } from '../auth/kiosk.ts';
import { authenticate } from '../auth/request-auth.ts';
import { ConcurrencyCap } from '../concurrency-cap.ts';
import { apiPrefix } from '../register-routes.ts';

export interface EventStreamOptions {
  accounts: Accounts;
  events: EventLog;
  heartbeatMs: number;
  /** Which screen started a run: a session locked to the app store hears only of its own runs. */
  runScreens: RunScreens;
}

/**
 * What a client receives for one event: everything but the access rules. A transient event has
 * no `id:` line, so the client's last event id stays that of the last durable event.
 */
function wireFormat({ access: _access, ...event }: DeliveredEvent): string {
  const id = event.id === undefined ? '' : `id: ${event.id}\n`;
  return `${id}data: ${JSON.stringify(event)}\n\n`;
}

function lastEventId(header: string | string[] | undefined, query: unknown): number | null {
  const raw =
    (typeof header === 'string' ? header : undefined) ??
    (query as { lastEventId?: string } | undefined)?.lastEventId;
  if (raw === undefined || raw === '') return null;
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 0) {
    throw new BivouacError('VALIDATION_FAILED', 'Last-Event-ID must be a non-negative integer.', {
      fields: [{ field: 'headers.last-event-id', message: 'must be a non-negative integer' }],
    });
  }
  return id;
}

/** What a stream may hold unsent before live-only events are skipped for it. */
const liveBacklogBytes = 1024 * 1024;

/**
 * `GET /api/v1/events`: Server-Sent Events. Replays what a reconnecting client missed (bounded
 * by the log's window; beyond it the client gets a `reset` event and reloads), sends heartbeats,
 * and delivers only events the user may view. The stream ends when the session does.
 */
export function registerEventStream(app: FastifyInstance, options: EventStreamOptions): () => void {
  const open = new Set<() => void>();
  // Streams per user: one browser, a CLI --wait and a peer's bridge fit; a looping client does not.
  const streamsPerUser = new ConcurrencyCap(
    limits.eventStreamsPerUser,
    'TOO_MANY_STREAMS',
    'event streams per user',
  );

  app.get(`${apiPrefix}/events`, async (request, reply) => {
    if (options.accounts.needsAdmin)
      throw new BivouacError('SETUP_REQUIRED', 'No administrator exists yet: create one first.');
    const first = authenticate(options.accounts, request);
    if (!first) throw new BivouacError('UNAUTHENTICATED', 'Sign in or send an API token.');
    const resumeFrom = lastEventId(request.headers['last-event-id'], request.query);
    let principal: Principal = first;
    const release = streamsPerUser.take(first.user.id);

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');

    const stillAllowed = (): boolean => {
      const current = authenticate(options.accounts, request);
      if (!current) return false;
      principal = current;
      return true;
    };
    const send = (event: DeliveredEvent): void => {
      // A client that cannot keep up (a megabyte unsent) misses live-only events (log lines,
      // metric ticks, progress) rather than having them pile up in memory; durable ones are
      // always sent, as a reconnecting client replays them.
      if (event.id === undefined && raw.writableLength > liveBacklogBytes) return;
      if (!canAccess(principal.subject, event.access, 'view')) return;
      // The kiosk lock holds here too: a locked screen hears only what its routes may read.
      if (isLocked(principal) && !isShownWhenLocked(event, principal, options.runScreens)) return;
      raw.write(wireFormat(event));
    };

    if (resumeFrom !== null) {
      const missed = options.events.since(resumeFrom);
      if (missed === null)
        raw.write(
          `event: reset\ndata: ${JSON.stringify({ latestId: options.events.latestId })}\n\n`,
        );
      else for (const event of missed) send(event);
    }
    const unsubscribe = options.events.subscribe((event) => {
      if (stillAllowed()) send(event);
      else close();
    });
    // A named event, which the page sees and times (an SSE comment never reaches it): one now,
    // then one every interval, so a page tells a box that went silent from a quiet one.
    const beat = `event: heartbeat\ndata: ${JSON.stringify({ intervalMs: options.heartbeatMs })}\n\n`;
    raw.write(beat);
    const heartbeat = setInterval(() => {
      if (stillAllowed()) raw.write(beat);
      else close();
    }, options.heartbeatMs);

    function close(): void {
      release();
      clearInterval(heartbeat);
      unsubscribe();
      open.delete(close);
      if (!raw.writableEnded) raw.end();
    }
    open.add(close);
    raw.on('close', close);
  });

  return () => {
    for (const close of [...open]) close();
  };
}

import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { apiPrefix } from './api/register-routes.ts';
import { limits } from './domain/limits.ts';
import { BivouacError, errorBody } from './errors.ts';
import { isGuestSocket } from './host/guest-connections.ts';

/*
 * What every request of the HTTP app meets besides its route (app.ts installs them in order):
 * guests refused off the agent listener, the time a request may take to arrive, the agent
 * listener's one API, and the security headers of every answer.
 */

const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Refuses connections from guests. A guest on user networking reaches the host's loopback and
 * addresses through QEMU, so its connections look like the box's own: the kernel's owner of
 * their other end (QEMU's uid, `guestUid`) tells them apart.
 */
export function refuseGuests(app: FastifyInstance, guestUid: number): void {
  const guests = new WeakMap<Socket, boolean>();
  app.addHook('onRequest', async (request) => {
    const socket = request.raw.socket;
    let isGuest = guests.get(socket);
    if (isGuest === undefined)
      guests.set(socket, (isGuest = await isGuestSocket(socket, guestUid)));
    if (isGuest)
      throw new BivouacError(
        'GUEST_REFUSED',
        "This connection comes from a VM through QEMU's user networking; guests reach only the agent API, on their agent URL.",
      );
  });
}

/**
 * A JSON request (headers and body) must arrive within `limits.requestTimeoutMs`, so a client
 * that trickles a body cannot hold a socket and a buffer. Uploads stream for as long as they
 * move (bounded by the idle-connection limit), and replies may take as long as their handler.
 */
export function limitRequestTime(app: FastifyInstance): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  const clear = async (request: { raw: object }): Promise<void> => {
    clearTimeout(timers.get(request.raw));
    timers.delete(request.raw);
  };
  app.addHook('onRequest', async (request) => {
    if (request.headers['content-type'] === 'application/octet-stream') return;
    const timer = setTimeout(() => request.raw.destroy(), limits.requestTimeoutMs);
    timer.unref();
    timers.set(request.raw, timer);
  });
  app.addHook('preHandler', clear);
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}

/**
 * Guests reach the agent listener: it answers the agent API and nothing else (no sign-in, no
 * setup, no UI), whatever else the app has routes for.
 */
export function serveAgentApiOnly(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith(`${apiPrefix}/agent/`)) return;
    const error = new BivouacError(
      'NOT_FOUND',
      `No route ${request.method} ${path} here: this listener serves only ${apiPrefix}/agent/*.`,
      { resource: 'route', method: request.method, path },
    );
    return reply.code(404).send(errorBody(error));
  });
}

/** The security headers of every answer: no sniffing, no referrer, no framing, the CSP, HSTS. */
export function addSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('content-security-policy', contentSecurityPolicy);
    if (request.protocol === 'https')
      void reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });
}

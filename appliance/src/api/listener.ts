import type { FastifyRequest } from 'fastify';

/**
 * Which of the appliance's listeners a request came in on. Trust decisions that depend on where a
 * client sits (first-run setup, kiosk sessions of the box's own screen, the guests' agent calls)
 * read it from here, never from the client's address alone.
 * - `public`: the HTTPS listener remote administrators and the LAN reach.
 * - `local`: plain HTTP on loopback, for the box's own screen.
 * - `agent`: where guests reach the appliance; it answers nothing but `/api/v1/agent/*`.
 */
export type ListenerRole = 'public' | 'local' | 'agent';

declare module 'fastify' {
  interface FastifyRequest {
    /** The listener this request came in on (set by `build()` for every request). */
    listener: ListenerRole;
  }
}

export function listenerOf(request: FastifyRequest): ListenerRole {
  return request.listener;
}

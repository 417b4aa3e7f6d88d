import type { z } from 'zod';

/**
 * Who may call a route:
 * - `none`: anyone, no credentials;
 * - `user`: any signed-in user (handlers check roles and ACLs further);
 * - `admin`: administrators only;
 * - `agent`: a guest agent with its instance token (valid only for its own run).
 */
export type RouteAuth = 'none' | 'user' | 'admin' | 'agent';

export interface RouteContract {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under /api/v1, fastify style (`/users/:id`). */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** Allowed before the first administrator exists. */
  duringSetup?: boolean;
  /**
   * Allowed in a session locked to the app store (kiosk mode); every other route is refused.
   * `screen-run`: only for a run (`:id`) started from that same screen; others are not found.
   */
  inKiosk?: true | 'screen-run';
  status?: 200 | 201 | 202 | 204;
  /**
   * The body is raw bytes (`application/octet-stream`, Content-Length required), handed to the
   * handler unread as a stream in `request.body` — for uploads too large to hold in memory.
   */
  upload?: true;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { BivouacError } from '../../errors.ts';
import { listenerOf } from '../listener.ts';
import type { Accounts, IssuedSession, Principal } from './accounts.ts';
import { sameSecret } from './secrets.ts';

export const sessionCookie = 'bivouac_session';
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
}

/**
 * A bearer token wins over a cookie; an invalid bearer token is not rescued by a cookie. A kiosk
 * session (the box's own screen) counts only on the local listener it was opened on, so its
 * cookie is worth nothing from the network.
 */
export function authenticate(accounts: Accounts, request: FastifyRequest): Principal | null {
  const principal = accounts.authenticate({ bearer: bearerOf(request), cookie: request.cookies[sessionCookie] });
  if (principal?.session?.screenId !== undefined && listenerOf(request) !== 'local') return null;
  return principal;
}

/** Cookie-authenticated changes must echo the session's CSRF token in a header. */
export function requireCsrf(request: FastifyRequest, principal: Principal): void {
  if (principal.via !== 'session' || safeMethods.has(request.method)) return;
  const given = request.headers['x-csrf-token'];
  const expected = principal.session?.csrfToken;
  if (typeof given !== 'string' || expected === undefined || !sameSecret(given, expected)) {
    throw new BivouacError('CSRF_FAILED', 'Send the x-csrf-token header from GET /api/v1/session with every change.');
  }
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, issued: IssuedSession): void {
  void reply.setCookie(sessionCookie, issued.cookieValue, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
    expires: new Date(issued.session.expiresAt),
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(sessionCookie, { path: '/' });
}

import type { FastifyReply, FastifyRequest } from 'fastify';
import { BivouacError } from '../../errors.ts';
import { listenerOf } from '../listener.ts';
import type { Accounts, IssuedSession, Principal } from './accounts.ts';
import { sameSecret } from '../../secrets.ts';

export const sessionCookie = 'bivouac_session';
/**
 * The session cookie's name over HTTPS. Browsers take a `__Host-` cookie only from a secure origin,
 * for this exact host and path `/`, so a plain-HTTP page on another port of the same host cannot
 * set one to shadow or fix the session (defence in depth: keeping the UI off the apps' service
 * host is what keeps the cookie from their ports).
 */
export const secureSessionCookie = '__Host-bivouac_session';

function cookieName(request: FastifyRequest): string {
  return request.protocol === 'https' ? secureSessionCookie : sessionCookie;
}
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
  const principal = accounts.authenticate({
    bearer: bearerOf(request),
    cookie: request.cookies[cookieName(request)],
  });
  if (principal?.session?.screenId !== undefined && listenerOf(request) !== 'local') return null;
  return principal;
}

/** Cookie-authenticated changes must echo the session's CSRF token in a header. */
export function requireCsrf(request: FastifyRequest, principal: Principal): void {
  if (principal.via !== 'session' || safeMethods.has(request.method)) return;
  const given = request.headers['x-csrf-token'];
  const expected = principal.session?.csrfToken;
  if (typeof given !== 'string' || expected === undefined || !sameSecret(given, expected)) {
    throw new BivouacError(
      'CSRF_FAILED',
      'Send the x-csrf-token header from GET /api/v1/session with every change.',
    );
  }
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  issued: IssuedSession,
): void {
  void reply.setCookie(cookieName(request), issued.cookieValue, {
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    path: '/',
    expires: new Date(issued.session.expiresAt),
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(cookieName(request), {
    path: '/',
    ...(request.protocol === 'https' ? { secure: true } : {}),
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hostname, networkInterfaces } from 'node:os';
import { BivouacError, errorBody } from '../errors.ts';

/**
 * The names a client may use to reach the box. A browser sends the name it was given in `Host`
 * (HTTP/2: `:authority`), so refusing every name the box does not own stops DNS rebinding: a web
 * page that points its own name at the box's address (or at 127.0.0.1) reaches nothing.
 */
export interface HostPolicy {
  /** Names and addresses besides the box's own (listen addresses, `hostNames`, the agents' gateway address). */
  names: readonly string[];
  /**
   * The host in the apps' service URLs (guest ports published on the box). Cookies have no port
   * scope, so the UI and the API are never served under it: a guest's web server on another
   * port of that host would otherwise receive the session cookie. Null when the box publishes none.
   */
  serviceHost: string | null;
  /** Where the UI is, for the link given to a browser that came under the service host. */
  uiUrl: string | null;
}

/** A policy for a box with no names of its own beyond the host's (tests, embedded use). */
export const hostOnlyPolicy: HostPolicy = { names: [], serviceHost: null, uiUrl: null };

/** `box:8443` → `box`, `[::1]:8080` → `::1`; lower case, without a trailing dot. Null when unusable. */
export function hostOf(header: string | undefined): string | null {
  if (!header) return null;
  const value = header.trim().toLowerCase();
  let host: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return null;
    host = value.slice(1, end);
  } else {
    const colon = value.indexOf(':');
    host = colon < 0 ? value : value.slice(0, colon);
  }
  host = host.replace(/\.$/, '');
  return host === '' ? null : host;
}

function normalise(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** The host's own names and the addresses of its interfaces, read now. */
function hostNamesNow(): string[] {
  const own = hostname().toLowerCase();
  const addresses = Object.values(networkInterfaces())
    .flat()
    .flatMap((address) => (address ? [address.address.toLowerCase().replace(/%.*$/, '')] : []));
  return [own, `${own}.local`, 'localhost', '127.0.0.1', '::1', ...addresses];
}

/** How long the host's interface addresses are trusted before a miss reads them again. */
const interfaceRefreshMs = 5000;

/**
 * Refuses, before anything else runs, a request whose Host is not one of the box's names
 * (HOST_NOT_ALLOWED), and the UI or API under the service host (UI_NOT_ON_SERVICE_HOST, with a
 * link to the UI). `/healthz` answers under every name of the box, the service host included.
 */
export function installHostCheck(app: FastifyInstance, policy: HostPolicy): void {
  const configured = new Set(policy.names.map(normalise));
  const serviceHost = policy.serviceHost === null ? null : normalise(policy.serviceHost);
  let known = new Set([...configured, ...hostNamesNow()]);
  let readAt = Date.now();
  const isKnown = (host: string): boolean => {
    if (known.has(host)) return true;
    // Interfaces come and go (DHCP, a cable): a miss reads them again, at most every few seconds.
    if (Date.now() - readAt < interfaceRefreshMs) return false;
    known = new Set([...configured, ...hostNamesNow()]);
    readAt = Date.now();
    return known.has(host);
  };

  app.addHook('onRequest', async (request, reply) => {
    const host = hostOf(
      (request.headers[':authority'] as string | undefined) ?? request.headers.host,
    );
    const path = request.url.split('?')[0] ?? '';
    if (host !== null && host === serviceHost) {
      if (path === '/healthz') return;
      return refuseServiceHost(request, reply, host, policy.uiUrl);
    }
    if (host === null || !isKnown(host)) {
      throw new BivouacError(
        'HOST_NOT_ALLOWED',
        `This box does not answer to the name ${JSON.stringify(host ?? '')}; use one of its own names or addresses.`,
        { host: host ?? '' },
      );
    }
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

async function refuseServiceHost(
  request: FastifyRequest,
  reply: FastifyReply,
  host: string,
  uiUrl: string | null,
): Promise<FastifyReply> {
  const where = uiUrl ? ` The UI is at ${uiUrl}` : '';
  const error = new BivouacError(
    'UI_NOT_ON_SERVICE_HOST',
    `${host} serves the apps' published ports, never the UI or the API, so a sign-in here could reach every app.${where}`,
    { host, uiUrl },
  );
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/api/') || !(request.headers.accept ?? '').includes('text/html')) {
    return reply.code(error.status).send(errorBody(error));
  }
  const link = uiUrl
    ? `<p><a href="${escapeHtml(uiUrl)}">Open Bivouac at ${escapeHtml(uiUrl)}</a></p>`
    : "<p>Open Bivouac under the box's name instead.</p>";
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bivouac is elsewhere</title></head><body><h1>Bivouac is not served here</h1><p>${escapeHtml(host)} is the address of the apps running on this box; the Bivouac UI is served under the box's name, so that no app can receive your session.</p>${link}</body></html>`;
  return reply.code(error.status).type('text/html; charset=utf-8').send(page);
}

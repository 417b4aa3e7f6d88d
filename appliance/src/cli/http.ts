import { X509Certificate } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { connect, type PeerCertificate } from 'node:tls';
import {
  contract,
  routeUrl,
  type CallInput,
  type RouteName,
  type RouteOutput,
  type SentInput,
} from '../api/contract.ts';

/** Where the CLI talks to: the box's address, the bearer token, and its pinned certificate. */
export interface Target {
  url: string;
  token?: string;
  /** PEM of the box's certificate, pinned for this box by its fingerprint. */
  certificate?: string;
}

/** A failure the CLI reports: a stable code, a message that says what to do, and its exit code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** `AB:CD:…` in capitals, however the fingerprint was typed. */
export function normalFingerprint(text: string): string {
  const hex = text.replace(/[^0-9a-f]/gi, '').toUpperCase();
  return hex.match(/.{1,2}/g)?.join(':') ?? '';
}

/**
 * A pinned certificate is trusted for this box alone, whatever name it was reached by: its
 * fingerprint must match. A self-signed one is its own authority; one an authority issued is
 * checked against the machine's authorities first (Node checks the name only once the chain
 * holds), so a box whose authority is trusted here may be pinned too.
 */
function tlsOptions(target: Target): RequestOptions {
  if (!target.certificate) return {};
  const certificate = new X509Certificate(target.certificate);
  const pinned = certificate.fingerprint256;
  const selfSigned =
    certificate.issuer === certificate.subject && certificate.verify(certificate.publicKey);
  return {
    ...(selfSigned ? { ca: target.certificate } : {}),
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      cert.fingerprint256 === pinned
        ? undefined
        : new Error(
            `the box's certificate is ${cert.fingerprint256}, not the ${pinned} signed in with`,
          ),
  };
}

function open(
  target: Target,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
): ReturnType<typeof httpRequest> {
  const url = new URL(path, target.url);
  const options = {
    method,
    headers: { ...headers, ...(target.token ? { authorization: `Bearer ${target.token}` } : {}) },
  };
  return url.protocol === 'https:'
    ? httpsRequest(url, { ...options, ...tlsOptions(target) })
    : httpRequest(url, options);
}

/** TLS codes that mean the certificate presented is not the one trusted, rather than no answer. */
const certificateCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

function unreachable(target: Target, error: Error): CliError {
  if (!certificateCodes.has((error as NodeJS.ErrnoException).code ?? ''))
    return new CliError(
      'UNREACHABLE',
      `The box at ${target.url} does not answer: ${error.message}.`,
    );
  if (target.certificate) {
    return new CliError(
      'CERTIFICATE_CHANGED',
      `The box at ${target.url} no longer presents the certificate signed in with (${new X509Certificate(target.certificate).fingerprint256}). If its certificate was renewed, sign in again; otherwise something between you and the box may be listening. Nothing was sent.`,
    );
  }
  return new CliError(
    'CERTIFICATE_UNKNOWN',
    `No authority on this machine vouches for the certificate of the box at ${target.url} (${error.message}). Sign in with \`bivouac login\`, which pins it, or set BIVOUAC_FINGERPRINT. Nothing was sent.`,
  );
}

function parseJson(target: Target, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(
      'BAD_ANSWER',
      `The box at ${target.url} answered with something that is not JSON; is it a Bivouac box?`,
    );
  }
}

/** One request; the whole answer as text. */
export function send(
  target: Target,
  method: string,
  path: string,
  body?: string,
  headers: OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const request = open(
      target,
      method,
      path,
      body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    );
    request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
    request.on('error', (error) => reject(unreachable(target, error)));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => reject(unreachable(target, error)));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    request.end(body);
  });
}

/** The box's `{ error: { code, message, details } }` as a CliError. */
function answerError(status: number, text: string): CliError {
  let error: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    error = (JSON.parse(text) as { error?: typeof error } | null)?.error;
  } catch {
    error = undefined;
  }
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    return new CliError(
      error.code,
      error.message,
      typeof error.details === 'object' && error.details !== null
        ? (error.details as Record<string, unknown>)
        : {},
    );
  }
  return new CliError('BAD_ANSWER', `The box answered ${status} with no error it explains.`);
}

/** Calls a route of the contract by name; the answer is checked with the route's schema. */
export async function call<N extends RouteName>(
  target: Target,
  name: N,
  ...args: keyof CallInput<N> extends never ? [] : [CallInput<N>]
): Promise<RouteOutput<N>> {
  const input = (args[0] ?? {}) as SentInput;
  const route = contract[name];
  const answer = await send(
    target,
    route.method,
    routeUrl(name, input),
    input.body === undefined ? undefined : JSON.stringify(input.body),
  );
  if (answer.status < 200 || answer.status >= 300) throw answerError(answer.status, answer.text);
  if (answer.status === 204) return null as RouteOutput<N>;
  const parsed = route.response.safeParse(parseJson(target, answer.text));
  if (!parsed.success)
    throw new CliError(
      'BAD_ANSWER',
      `The box's answer to ${name} is not what this CLI expects (${parsed.error.issues[0]?.message}); the box may run another version.`,
    );
  return parsed.data as RouteOutput<N>;
}

/** Sign-in over a cookie session, for the one exchange that makes an API token. */
export async function withSession<T>(
  target: Target,
  username: string,
  password: string,
  use: (headers: OutgoingHttpHeaders) => Promise<T>,
): Promise<T> {
  const signedIn = await send(
    target,
    'POST',
    routeUrl('login', {}),
    JSON.stringify({ username, password }),
  );
  if (signedIn.status !== 200) throw answerError(signedIn.status, signedIn.text);
  const cookie = String(signedIn.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  const { csrfToken } = parseJson(target, signedIn.text) as { csrfToken: string };
  const headers = { cookie, 'x-csrf-token': csrfToken };
  try {
    return await use(headers);
  } finally {
    await send(target, 'DELETE', routeUrl('logout', {}), undefined, headers).catch(() => undefined);
  }
}

/** Sends a request with a session's headers and checks it as `call` does. */
export async function sessionCall<T>(
  target: Target,
  headers: OutgoingHttpHeaders,
  method: string,
  path: string,
  body: unknown,
): Promise<T> {
  const answer = await send(target, method, path, JSON.stringify(body), headers);
  if (answer.status < 200 || answer.status >= 300) throw answerError(answer.status, answer.text);
  return parseJson(target, answer.text) as T;
}

/**
 * The certificate a box presented (`presentedCertificate`), to be pinned, when it is the one
 * `fingerprint` names (`given` says where that came from, for the message); nothing has been sent.
 */
export function pinned(
  presented: { pem: string; fingerprint: string },
  fingerprint: string,
  given = '',
): string {
  if (normalFingerprint(fingerprint) === presented.fingerprint) return presented.pem;
  throw new CliError(
    'CERTIFICATE_MISMATCH',
    `The box presents the certificate ${presented.fingerprint}, not ${given}${normalFingerprint(fingerprint)}: something between you and the box may be listening. Nothing was sent.`,
    { fingerprint: presented.fingerprint },
  );
}

/**
 * The certificate a box presents, read before anything is sent to it, and whether an authority
 * the system trusts vouches for it.
 */
export function presentedCertificate(
  url: string,
): Promise<{ pem: string; fingerprint: string; trusted: boolean }> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 address without its brackets
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host,
        port: Number(port || 443),
        servername: isIP(host) ? undefined : host,
        rejectUnauthorized: false,
      },
      () => {
        const peer = socket.getPeerCertificate();
        socket.end();
        if (!peer.raw)
          return reject(new CliError('UNREACHABLE', `The box at ${url} presented no certificate.`));
        resolve({
          pem: new X509Certificate(peer.raw).toString(),
          fingerprint: peer.fingerprint256,
          trusted: socket.authorized,
        });
      },
    );
    socket.setTimeout(15_000, () => socket.destroy(new Error('no answer within 15 s')));
    socket.on('error', (error) =>
      reject(new CliError('UNREACHABLE', `The box at ${url} does not answer: ${error.message}.`)),
    );
  });
}

/**
 * Follows the box's event stream until `until` says it has seen enough, or `timeoutMs` passes
 * (then false). Once the stream is open, `opened` looks at what may already be so (true: done),
 * so nothing that happens between a look and the stream is missed.
 */
export function followEvents(
  target: Target,
  until: (event: {
    type: string;
    subject: { kind: string; id: string };
    data: Record<string, unknown>;
  }) => boolean,
  opened: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const request = open(target, 'GET', '/api/v1/events', { accept: 'text/event-stream' });
    const timer = setTimeout(() => finish(false), timeoutMs);
    let finished = false;
    function finish(seen: boolean, error?: Error) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      request.destroy();
      if (error) reject(error);
      else resolve(seen);
    }
    request.on('error', (error) => finish(false, unreachable(target, error)));
    request.on('response', (response) => {
      if (response.statusCode !== 200)
        return finish(
          false,
          new CliError('BAD_ANSWER', `The box's event stream answered ${response.statusCode}.`),
        );
      let buffered = '';
      // A named event (`heartbeat`, `reset`) is the stream's own, not one of the box's events.
      let named = false;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let end: number;
        while ((end = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 1);
          if (line === '') named = false;
          if (line.startsWith('event: ')) named = true;
          if (named || !line.startsWith('data: ')) continue;
          let event: Parameters<typeof until>[0];
          try {
            event = parseJson(target, line.slice(6)) as Parameters<typeof until>[0];
          } catch (error) {
            return finish(false, error as CliError);
          }
          if (until(event)) return finish(true);
        }
      });
      response.on('end', () =>
        finish(
          false,
          new CliError('UNREACHABLE', `The box at ${target.url} closed its event stream.`),
        ),
      );
      opened().then(
        (done) => done && finish(true),
        (error: Error) => finish(false, error),
      );
    });
    request.end();
  });
}

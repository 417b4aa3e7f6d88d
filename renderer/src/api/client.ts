import {
  contract,
  routeUrl,
  type CallInput,
  type Contract,
  type RouteName,
  type RouteOutput,
  type SentInput,
} from '../../../appliance/src/api/contract.ts';

/** An error the appliance answered with: `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

/** The session's CSRF token, sent with every change. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

type Sent = SentInput;

/** Sends, then turns the answer into the route's output or an ApiError. */
async function exchange<N extends RouteName>(
  name: N,
  input: Sent,
  body: BodyInit | undefined,
  contentType: string | undefined,
): Promise<RouteOutput<N>> {
  const route = contract[name];
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  if (route.method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(routeUrl(name, input), {
      method: route.method,
      credentials: 'same-origin',
      headers,
      ...(body !== undefined ? { body } : {}),
    });
  } catch {
    throw new ApiError(
      0,
      'UNREACHABLE',
      'The box does not answer. Check the connection; the page retries on its own.',
    );
  }
  if (response.status === 204) return null as RouteOutput<N>;
  const answer = (await response.json().catch(() => null)) as {
    error?: { code: string; message: string; details?: Record<string, unknown> };
  } | null;
  if (!response.ok) {
    const error = answer?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'INTERNAL',
      error?.message ?? `The box answered ${response.status}.`,
      error?.details ?? {},
    );
  }
  return route.response.parse(answer) as RouteOutput<N>;
}

/**
 * Calls a route of the contract by name: the URL from its path and params, the query string,
 * a JSON body, the CSRF header on changes; the answer is checked with the route's schema.
 */
export async function call<N extends RouteName>(
  name: N,
  ...args: keyof CallInput<N> extends never ? [] : [CallInput<N>]
): Promise<RouteOutput<N>> {
  const input = (args[0] ?? {}) as Sent;
  return exchange(
    name,
    input,
    input.body !== undefined ? JSON.stringify(input.body) : undefined,
    input.body !== undefined ? 'application/json' : undefined,
  );
}

/** The routes that take raw bytes as their body. */
type UploadRoute = {
  [N in RouteName]: Contract[N] extends { upload: true } ? N : never;
}[RouteName];

/**
 * Sends a file to an upload route as the raw body: the browser streams it from disk, the
 * appliance reads it as it arrives (its events report the progress).
 */
export async function upload<N extends UploadRoute>(
  name: N,
  file: Blob,
  ...args: keyof CallInput<N> extends never ? [] : [CallInput<N>]
): Promise<RouteOutput<N>> {
  return exchange(name, (args[0] ?? {}) as Sent, file, 'application/octet-stream');
}

/** The problems the box named in an error's details (`{ fields: [{ field, message }] }`). */
export function detailProblems(error: ApiError | null): { field: string; message: string }[] {
  const fields = error?.details.fields;
  return Array.isArray(fields) ? (fields as { field: string; message: string }[]) : [];
}

/** What a form does with an answer: the value, or the error to show beside the field. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Any failure as an ApiError, so every page shows failures the same way. */
export function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'INTERNAL', (error as Error).message);
}

async function asResult<T>(answer: Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await answer };
  } catch (error) {
    return { ok: false, error: asApiError(error) };
  }
}

/** The same call as a result, for forms that show the error beside the field. */
export async function callSafe<N extends RouteName>(
  name: N,
  ...args: keyof CallInput<N> extends never ? [] : [CallInput<N>]
): Promise<Result<RouteOutput<N>>> {
  return asResult(call(name, ...args));
}

/** The same upload as a result. */
export async function uploadSafe<N extends UploadRoute>(
  name: N,
  file: Blob,
  ...args: keyof CallInput<N> extends never ? [] : [CallInput<N>]
): Promise<Result<RouteOutput<N>>> {
  return asResult(upload(name, file, ...args));
}

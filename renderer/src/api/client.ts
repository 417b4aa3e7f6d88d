import { contract, type RouteInput, type RouteName, type RouteOutput } from '../../../appliance/src/api/contract.ts';

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

type Input<N extends RouteName> = { [K in keyof RouteInput<N> as RouteInput<N>[K] extends undefined ? never : K]: RouteInput<N>[K] };

/**
 * Calls a route of the contract by name: the URL from its path and params, the query string,
 * a JSON body, the CSRF header on changes; the answer is checked with the route's schema.
 */
export async function call<N extends RouteName>(name: N, ...args: keyof Input<N> extends never ? [] : [Input<N>]): Promise<RouteOutput<N>> {
  const route = contract[name];
  const input = (args[0] ?? {}) as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
  const path = route.path.replace(/:([A-Za-z]+)/g, (_, key: string) => encodeURIComponent(String(input.params?.[key] ?? '')));
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(input.query ?? {})) if (value !== undefined) query.set(key, String(value));
  const headers: Record<string, string> = {};
  if (input.body !== undefined) headers['content-type'] = 'application/json';
  if (route.method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}${query.size ? `?${query}` : ''}`, {
      method: route.method,
      credentials: 'same-origin',
      headers,
      ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'The box does not answer. Check the connection; the page retries on its own.');
  }
  if (response.status === 204) return null as RouteOutput<N>;
  const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string; details?: Record<string, unknown> } } | null;
  if (!response.ok) {
    const error = body?.error;
    throw new ApiError(response.status, error?.code ?? 'INTERNAL', error?.message ?? `The box answered ${response.status}.`, error?.details ?? {});
  }
  return route.response.parse(body) as RouteOutput<N>;
}

/** The same call as a result, for forms that show the error beside the field. */
export async function callSafe<N extends RouteName>(name: N, ...args: keyof Input<N> extends never ? [] : [Input<N>]): Promise<{ ok: true; value: RouteOutput<N> } | { ok: false; error: ApiError }> {
  try {
    return { ok: true, value: await call(name, ...args) };
  } catch (error) {
    return { ok: false, error: error instanceof ApiError ? error : new ApiError(0, 'INTERNAL', (error as Error).message) };
  }
}

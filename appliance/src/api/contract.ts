import type { z } from 'zod';
import { accountRoutes } from './contract/accounts.ts';
import { agentRoutes } from './contract/agent.ts';
import { appRoutes } from './contract/apps.ts';
import { boxRoutes } from './contract/box.ts';
import { capacityRoutes } from './contract/capacity.ts';
import { cloudRoutes } from './contract/clouds.ts';
import { imageRoutes } from './contract/images.ts';
import { kioskRoutes } from './contract/kiosk.ts';
import { moduleRoutes } from './contract/modules.ts';
import { runRoutes } from './contract/runs.ts';
import { settingRoutes } from './contract/settings.ts';
import { vmRoutes } from './contract/vms.ts';
import type { RouteContract } from './contract/route-contract.ts';

export type { RouteAuth, RouteContract } from './contract/route-contract.ts';

/**
 * Every JSON route of the API. The server implements each; the renderer's client calls them.
 * One file per resource in contract/; the order here is the order of the OpenAPI document.
 */
export const contract = {
  ...accountRoutes,
  ...capacityRoutes,
  ...cloudRoutes,
  ...imageRoutes,
  ...moduleRoutes,
  ...runRoutes,
  ...agentRoutes,
  ...appRoutes,
  ...kioskRoutes,
  ...settingRoutes,
  ...boxRoutes,
  ...vmRoutes,
} as const satisfies Record<string, RouteContract>;

export type Contract = typeof contract;
export type RouteName = keyof Contract;

type Infer<T> = T extends z.ZodType ? z.infer<T> : undefined;

/** What a call to `name` sends. */
export interface RouteInput<N extends RouteName> {
  params: Infer<Contract[N] extends { params: infer P } ? P : undefined>;
  query: Infer<Contract[N] extends { query: infer Q } ? Q : undefined>;
  body: Infer<Contract[N] extends { body: infer B } ? B : undefined>;
}

/** What a caller passes for `name`: only the parts (params, query, body) the route has. */
export type CallInput<N extends RouteName> = {
  [K in keyof RouteInput<N> as RouteInput<N>[K] extends undefined ? never : K]: RouteInput<N>[K];
};

/** What a call to `name` answers. */
export type RouteOutput<N extends RouteName> = z.infer<Contract[N]['response']>;

/** What a client sends to a route: the path's params, the query, the body. */
export interface SentInput {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
}

/** The URL of a route, from `/api/v1` on: its path with the params filled in, and the query string. */
export function routeUrl(name: RouteName, input: SentInput): string {
  const filled = contract[name].path.replace(/:([A-Za-z]+)/g, (_, key: string) =>
    encodeURIComponent(String(input.params?.[key] ?? '')),
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(input.query ?? {}))
    if (value !== undefined) query.set(key, String(value));
  return `/api/v1${filled}${query.size ? `?${query}` : ''}`;
}

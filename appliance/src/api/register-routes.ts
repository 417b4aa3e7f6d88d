import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { limits } from '../domain/limits.ts';
import { BivouacError, validationError } from '../errors.ts';
import type { Accounts, Principal } from './auth/accounts.ts';
import { isLocked, kioskLocked, screenOf, type RunScreens } from './auth/kiosk.ts';
import { authenticate, bearerOf, requireCsrf } from './auth/request-auth.ts';
import {
  contract,
  type RouteContract,
  type RouteInput,
  type RouteName,
  type RouteOutput,
} from './contract.ts';

export const apiPrefix = '/api/v1';

/** A guest agent: the instance its token was issued to. */
export interface AgentPrincipal {
  runId: string;
  instance: string;
}

export type AgentAuthenticator = (bearer: string | undefined) => AgentPrincipal | null;

export interface HandlerContext {
  principal: Principal | null;
  agent: AgentPrincipal | null;
  request: FastifyRequest;
  reply: FastifyReply;
  /** performance.now() when the request arrived (its headers read), for spans in one clock. */
  arrivedMs: number;
}

/** The principal of a route whose contract requires one. */
export function asAgent(context: HandlerContext): AgentPrincipal {
  if (!context.agent) throw new BivouacError('UNAUTHENTICATED', "Send the instance's agent token.");
  return context.agent;
}

export function signedIn(context: HandlerContext): Principal {
  if (!context.principal)
    throw new BivouacError('UNAUTHENTICATED', 'Sign in or send an API token.');
  return context.principal;
}

export type Handler<N extends RouteName> = (
  input: RouteInput<N>,
  context: HandlerContext,
) => Promise<RouteOutput<N>>;
export type Handlers = { [N in RouteName]: Handler<N> };

function parse(
  where: 'body' | 'query' | 'params',
  schema: z.ZodType | undefined,
  value: unknown,
): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value ?? (where === 'body' ? undefined : {}));
  if (!result.success) throw validationError(where, result.error);
  return result.data;
}

/**
 * Registers every route of the contract with the one pipeline: setup gate, authentication, role,
 * CSRF, the kiosk lock, validation of params, query and body, the handler, then the response
 * shaped by its schema (so a field not in the schema can never leak).
 */
export function registerRoutes(
  app: FastifyInstance,
  accounts: Accounts,
  handlers: Handlers,
  agents: AgentAuthenticator,
  runScreens: RunScreens,
): void {
  const uploads: [RouteName, RouteContract][] = [];
  const pipeline: Pipeline = { accounts, agents, runScreens };
  for (const [name, route] of Object.entries(contract) as [RouteName, RouteContract][]) {
    if (route.upload) uploads.push([name, route]);
    else defineRoute(app, pipeline, name, route, handlers);
  }
  // Upload routes take raw bytes, unread, as a stream; only inside this scope is that allowed.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/octet-stream', (_request, payload, done) =>
      done(null, payload),
    );
    for (const [name, route] of uploads) defineRoute(scope, pipeline, name, route, handlers);
  });
}

interface Caller {
  principal: Principal | null;
  agent: AgentPrincipal | null;
  arrivedMs: number;
}

/**
 * The setup gate, authentication, role, CSRF and the kiosk lock: everything about who calls,
 * settled before the body is read, so a client that may not call a route never has a body
 * buffered for it.
 */
function identify(
  accounts: Accounts,
  agents: AgentAuthenticator,
  route: RouteContract,
  request: FastifyRequest,
  arrivedMs = performance.now(),
): Caller {
  if (!route.duringSetup && accounts.needsAdmin) {
    throw new BivouacError(
      'SETUP_REQUIRED',
      'No administrator exists yet: create one first (POST /api/v1/setup).',
    );
  }
  const agent = route.auth === 'agent' ? agents(bearerOf(request)) : null;
  if (route.auth === 'agent' && !agent)
    throw new BivouacError(
      'UNAUTHENTICATED',
      "Send this instance's agent token (Authorization: Bearer); it is valid only while its run is live.",
    );
  const principal =
    route.auth === 'none' || route.auth === 'agent' ? null : authenticate(accounts, request);
  if (route.auth === 'user' || route.auth === 'admin') {
    if (!principal) throw new BivouacError('UNAUTHENTICATED', 'Sign in or send an API token.');
    if (route.auth === 'admin' && principal.subject.role !== 'admin') {
      throw new BivouacError('FORBIDDEN', 'Only an administrator may do this.', {
        requiredRole: 'admin',
      });
    }
    requireCsrf(request, principal);
    if (isLocked(principal) && !route.inKiosk) throw kioskLocked();
  }
  return { principal, agent, arrivedMs };
}

/** What the pipeline consults besides the route: accounts, agent tokens, which screen started a run. */
interface Pipeline {
  accounts: Accounts;
  agents: AgentAuthenticator;
  runScreens: RunScreens;
}

function defineRoute(
  app: FastifyInstance,
  { accounts, agents, runScreens }: Pipeline,
  name: RouteName,
  route: RouteContract,
  handlers: Handlers,
): void {
  const handler = handlers[name] as (input: unknown, context: HandlerContext) => Promise<unknown>;
  const callers = new WeakMap<FastifyRequest, Caller>();
  app.route({
    method: route.method,
    url: `${apiPrefix}${route.path}`,
    // Routes anyone may call take small bodies only (sign-in, first-run setup).
    ...(route.auth === 'none' ? { bodyLimit: limits.unauthenticatedBodyBytes } : {}),
    onRequest: async (request) => {
      callers.set(request, identify(accounts, agents, route, request));
    },
    handler: async (request, reply) => {
      const { principal, agent, arrivedMs } =
        callers.get(request) ?? identify(accounts, agents, route, request);
      if (route.upload && request.headers['content-type'] !== 'application/octet-stream') {
        throw new BivouacError(
          'UNSUPPORTED_MEDIA_TYPE',
          'Send the bytes as the body with Content-Type: application/octet-stream.',
          { allowed: ['application/octet-stream'] },
        );
      }
      const input = {
        params: parse('params', route.params, request.params),
        query: parse('query', route.query, request.query),
        body: parse('body', route.body, request.body),
      };
      // A locked screen reads only the runs it started; any other is answered like a missing one.
      if (route.inKiosk === 'screen-run' && isLocked(principal)) {
        const runId = (input.params as { id: string }).id;
        if (runScreens(runId) !== screenOf(principal))
          throw new BivouacError('NOT_FOUND', `No run ${runId}.`, { resource: 'run', id: runId });
      }
      const result = await handler(input, { principal, agent, request, reply, arrivedMs });
      const status = route.status ?? 200;
      if (status === 204) return reply.code(204).send();
      return reply.code(status).send(route.response.parse(result));
    },
  });
}

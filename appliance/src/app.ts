import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  addSecurityHeaders,
  limitRequestTime,
  refuseGuests,
  serveAgentApiOnly,
} from './app-guards.ts';
import { registerApi, serveRenderer } from './app-endpoints.ts';
import type { Services } from './app-services.ts';
import { installErrorHandling } from './api/errors-http.ts';
import { hostOnlyPolicy, installHostCheck, type HostPolicy } from './api/host-check.ts';
import type { ListenerRole } from './api/listener.ts';
import { limits } from './domain/limits.ts';
import { BivouacError, errorBody } from './errors.ts';

export interface BuildOptions {
  https?: { key: string; cert: string };
  logger?: FastifyBaseLogger;
  /** Which listener this app serves (see api/listener.ts); `public` by default. */
  listener?: ListenerRole;
  /** The names the box answers to and its service host; by default the host's own names only. */
  hosts?: HostPolicy;
}

/** JSON bodies above this are refused with BODY_TOO_LARGE. */
export const jsonBodyLimit = limits.jsonBodyBytes;

/** Builds the HTTP app without listening: tests call `inject()`, `server.ts` calls `listen()`. */
export async function build(
  services: Services,
  options: BuildOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: jsonBodyLimit,
    ...(options.https ? { https: options.https } : {}),
    // Request lines are off (too chatty on a box); warnings and errors still reach the log.
    ...(options.logger
      ? { loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }) }
      : { logger: false }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: limits.paramLength },
    // The router's own refusals (a path parameter too long, bad percent-encoding) in the registry's form.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const refused = new BivouacError(
        'VALIDATION_FAILED',
        tooLong
          ? `A path parameter is longer than ${limits.paramLength} characters.`
          : 'The path is not a valid URL (check its percent-encoding).',
        {
          fields: [
            {
              field: 'params',
              message: tooLong
                ? `must be at most ${limits.paramLength} characters`
                : 'must be valid percent-encoding',
            },
          ],
        },
      );
      void reply.code(refused.status).send(errorBody(refused));
    },
    // A connection silent both ways for longer than any wait a client may ask for is closed.
    connectionTimeout: limits.idleConnectionMs,
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = limits.headersTimeoutMs;

  // Before anything else: a name that is not the box's (DNS rebinding), or the UI under the
  // apps' service host, is refused here. The agent listener is left out: guests name it by their
  // gateway or 10.0.2.2, it serves only agent calls with their bearer tokens, and no browser
  // session or cookie is ever accepted there.
  if (options.listener !== 'agent') installHostCheck(app, options.hosts ?? hostOnlyPolicy);
  // Guests reach the agent listener only (app-guards.ts).
  const guestUid = services.guestUid;
  if (options.listener !== 'agent' && guestUid !== null) refuseGuests(app, guestUid);
  limitRequestTime(app);

  const listener: ListenerRole = options.listener ?? 'public';
  app.decorateRequest('listener', 'public');
  app.addHook('onRequest', async (request) => {
    request.listener = listener;
  });
  if (listener === 'agent') serveAgentApiOnly(app);

  installErrorHandling(app, jsonBodyLimit);
  // The API speaks JSON only; any other body is refused as UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyCookie);
  addSecurityHeaders(app);

  registerApi(app, services);
  await serveRenderer(app, services.rendererDir);
  return app;
}

import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Services } from './app-services.ts';
import { buildOpenApi } from './api/openapi.ts';
import { apiPrefix, registerRoutes } from './api/register-routes.ts';
import { appHandlers, registerAppFiles } from './api/routes/app-routes.ts';
import { boxHandlers } from './api/routes/box-routes.ts';
import { capacityHandlers } from './api/routes/capacity-routes.ts';
import { cloudHandlers } from './api/routes/cloud-routes.ts';
import { registerEventStream } from './api/routes/event-routes.ts';
import { imageHandlers } from './api/routes/image-routes.ts';
import { kioskHandlers } from './api/routes/kiosk-routes.ts';
import { moduleHandlers } from './api/routes/module-routes.ts';
import { agentHandlers, runHandlers } from './api/routes/run-routes.ts';
import { sessionHandlers } from './api/routes/session-routes.ts';
import { userHandlers } from './api/routes/user-routes.ts';
import { vmHandlers } from './api/routes/vm-routes.ts';
import { BivouacError, errorBody } from './errors.ts';
import { version } from './version.ts';

/*
 * What the HTTP app answers (app.ts builds it): the API, `/healthz` and the OpenAPI document, the
 * built renderer, and NOT_FOUND for the rest.
 */

/**
 * The routes of the HTTP app: `/healthz`, the OpenAPI document, every API route of the contract
 * with its handlers on the services, apps' files and the event stream (closed before the app).
 */
export function registerApi(app: FastifyInstance, services: Services): void {
  // 503 while the start-up is under way (the shipped catalog and images installing): a deploy
  // would be refused in that window. The body says what is still starting and what failed.
  app.get('/healthz', async (_request, reply) => {
    const { ready, starting, failed } = services.readiness.report();
    if (!ready) void reply.code(503);
    return { status: ready ? 'ok' : 'starting', version, starting, failed };
  });
  // Made for each request (some 30 ms), not held: kept, the document and the JSON Schemas zod
  // makes for it weigh 1.5 MiB of a box that is rarely asked for it.
  app.get(`${apiPrefix}/openapi.json`, async () => buildOpenApi(version));

  // Which screen started a run, for the kiosk lock's scoping of run reads and events.
  const runScreens = (runId: string): string | null =>
    services.store.data.runs.find((run) => run.id === runId)?.screenId ?? null;
  registerRoutes(
    app,
    services.accounts,
    {
      ...sessionHandlers(services.accounts, {
        tlsFingerprint: services.tlsFingerprint,
        version,
        isDryRun: services.isDryRun,
        setupCode: services.setupCode,
      }),
      ...userHandlers(services.accounts),
      ...capacityHandlers(services.reservations),
      ...cloudHandlers(services.clouds, services.cloudKeysDir),
      ...vmHandlers(services.vms, services.reconciler, services.runs),
      ...imageHandlers(services.images, services.importFolders),
      ...moduleHandlers(services.modules),
      ...runHandlers(services.runs, services.archiver),
      ...agentHandlers(services.runs),
      ...appHandlers(services.apps, services.importFolders, services.runs.timings),
      ...kioskHandlers(services.kiosk),
      ...boxHandlers({
        history: services.history,
        sampler: () => services.sampler,
        vms: services.vms,
        power: services.power,
        events: services.events,
        facts: () => services.facts,
        vmDisk: () => {
          const disk = services.reservations.report().box.diskGiB;
          const total = disk.total ?? 0;
          return { total, held: disk.used + disk.reserved, free: disk.free ?? total };
        },
        logs: () => services.logs,
        identity: {
          version,
          tlsFingerprint: services.tlsFingerprint,
          hypervisorUri: services.hypervisorUri,
          isDryRun: services.isDryRun,
        },
      }),
    },
    (bearer) => services.runs.agents.authenticate(bearer),
    runScreens,
  );
  registerAppFiles(app, services.accounts, services.apps);
  const closeStreams = registerEventStream(app, {
    accounts: services.accounts,
    events: services.events,
    heartbeatMs: services.heartbeatMs,
    runScreens,
  });
  app.addHook('preClose', async () => closeStreams());
}

/**
 * Serves the built renderer from `rendererDir` (when it holds one), hashed assets cached for
 * good, and answers what no route serves: a page's path with the UI's index, anything else with
 * NOT_FOUND.
 */
export async function serveRenderer(
  app: FastifyInstance,
  rendererDir: string | null,
): Promise<void> {
  const hasRenderer = rendererDir !== null && existsSync(join(rendererDir, 'index.html'));
  if (hasRenderer) {
    await app.register(fastifyStatic, {
      root: rendererDir,
      wildcard: false,
      index: false,
      setHeaders: (reply, path) => {
        const isHashedAsset = path.startsWith(join(rendererDir, 'assets'));
        void reply.header(
          'cache-control',
          isHashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (
      hasRenderer &&
      request.method === 'GET' &&
      !path.startsWith('/api/') &&
      !path.includes('.')
    ) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    const error = new BivouacError('NOT_FOUND', `No route ${request.method} ${path}.`, {
      resource: 'route',
      method: request.method,
      path,
    });
    return reply.code(404).send(errorBody(error));
  });
}

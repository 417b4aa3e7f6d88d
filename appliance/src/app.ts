import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from './api/auth/accounts.ts';
import { Kiosk } from './api/auth/kiosk.ts';
import { LoginThrottle } from './api/auth/login-throttle.ts';
import { installErrorHandling } from './api/errors-http.ts';
import type { ListenerRole } from './api/listener.ts';
import { buildOpenApi } from './api/openapi.ts';
import { apiPrefix, registerRoutes } from './api/register-routes.ts';
import { registerEventStream } from './api/routes/event-routes.ts';
import { capacityHandlers } from './api/routes/capacity-routes.ts';
import { cloudHandlers } from './api/routes/cloud-routes.ts';
import { imageHandlers } from './api/routes/image-routes.ts';
import { appHandlers, registerAppFiles } from './api/routes/app-routes.ts';
import { kioskHandlers } from './api/routes/kiosk-routes.ts';
import { boxHandlers } from './api/routes/box-routes.ts';
import { moduleHandlers, parseContent } from './api/routes/module-routes.ts';
import { agentHandlers, runHandlers } from './api/routes/run-routes.ts';
import { vmHandlers } from './api/routes/vm-routes.ts';
import { sessionHandlers } from './api/routes/session-routes.ts';
import { userHandlers } from './api/routes/user-routes.ts';
import { privateTo } from './domain/access.ts';
import type { Amounts } from './domain/capacity.ts';
import { BivouacError, errorBody } from './errors.ts';
import { Clouds } from './connectors/clouds.ts';
import { isDryRunUri } from './connectors/libvirt/default-uri.ts';
import { libvirtKind } from './connectors/libvirt/libvirt-connector.ts';
import { ConnectorRegistry } from './connectors/registry.ts';
import { Apps } from './catalog/apps.ts';
import { Modules } from './catalog/modules.ts';
import { chooseDomainType } from './connectors/libvirt/accelerator.ts';
import { hostFacts, type BoxFactsSource } from './host/facts.ts';
import { ImageStore } from './host/images.ts';
import type { LogRing } from './host/log-ring.ts';
import type { MetricsSampler } from './host/metrics.ts';
import type { PowerControl } from './host/power.ts';
import type { History } from './store/history.ts';
import { VmUsageMeter } from './orchestrator/vm-usage.ts';
import { Reconciler, type ReconcilerOptions } from './orchestrator/reconciler.ts';
import { Reservations } from './orchestrator/reservations.ts';
import { Runs, type RunsOptions } from './orchestrator/runs.ts';
import { VmTracker } from './orchestrator/vm-tracker.ts';
import type { MainDocument } from './store/document.ts';
import type { EventLog } from './store/event-log.ts';
import type { Store } from './store/store.ts';
import { version } from './version.ts';

/** What the HTTP app needs; `server.ts` makes the real ones, tests make their own. */
export interface Services {
  store: Store<MainDocument>;
  events: EventLog;
  accounts: Accounts;
  /** Kiosk mode of the box's screen: the PIN and the sessions locked to the app store. */
  kiosk: Kiosk;
  reservations: Reservations;
  clouds: Clouds;
  vms: VmTracker;
  reconciler: Reconciler;
  images: ImageStore;
  modules: Modules;
  runs: Runs;
  apps: Apps;
  /** Metric history and the sampler feeding it (server.ts; absent in most tests). */
  history: History | null;
  sampler: MetricsSampler | null;
  /** Powering the box off or rebooting it (server.ts wires the host's; tests a recording one). */
  power: PowerControl;
  vmUsage: VmUsageMeter;
  /** Facts about the host for the Box page (the real host's unless a test gives its own). */
  facts: BoxFactsSource;
  /** The appliance's recent log lines (server.ts keeps them; null where nothing logs). */
  logs: LogRing | null;
  /** The box's own hypervisor. */
  hypervisorUri: string;
  /** The box's hypervisor is libvirt's test driver: no real VMs (shown as a banner). */
  isDryRun: boolean;
  tlsFingerprint: string | null;
  heartbeatMs: number;
  /** The built renderer (index.html and assets), or null to serve the API only. */
  rendererDir: string | null;
}

export interface ServiceOptions {
  /** The appliance's data directory (the store and the event log live there). */
  dataDir: string;
  store: Store<MainDocument>;
  events: EventLog;
  sessionHours?: number;
  heartbeatSeconds?: number;
  tlsFingerprint?: string | null;
  rendererDir?: string | null;
  throttle?: LoginThrottle;
  /** The box's capacity (from host facts in `server.ts`). */
  box?: Amounts;
  /** The box's own hypervisor. */
  libvirtUri?: string;
  /** Where the box's VMs keep overlays, seeds and console logs. */
  vmDir?: string;
  /** Where base images live; a temporary folder by default. */
  imageDir?: string;
  /** Free-space check of the image store (tests). */
  imageFreeBytes?: (directory: string) => Promise<number>;
  history?: History;
  sampler?: MetricsSampler;
  power?: PowerControl;
  /** Host facts; by default the real host's, its data disk the one holding `dataDir`. */
  facts?: BoxFactsSource;
  logs?: LogRing;
  /** Where installed apps keep their assets; a temporary folder by default. */
  appsDir?: string;
  /** Where guests reach the appliance (user-mode networking: the host's loopback is 10.0.2.2). */
  agentUrl?: string;
  /** Orchestrator tuning (tests), and the box's private networks and agent listeners (server.ts). */
  runs?: Partial<RunsOptions>;
  /** Poll intervals, grace periods and the log of the reconciler. */
  reconciler?: ReconcilerOptions;
}

/** A capacity for tests and dry runs: the default 8 VMs on a modest host. */
export const defaultBox: Amounts = { vms: 8, vcpu: 16, memoryMiB: 16 * 1024, diskGiB: 200 };

export function createServices(options: ServiceOptions): Services {
  const libvirtUri = options.libvirtUri ?? 'test:///default';
  const registry = new ConnectorRegistry();
  registry.register(libvirtKind({ stateDir: options.vmDir ?? join(tmpdir(), 'bivouac-vms') }));
  const reservations = new Reservations(options.store, options.events, options.box ?? defaultBox);
  const clouds = new Clouds(options.store, options.events, registry, { kind: 'libvirt', config: { uri: libvirtUri }, name: 'This box' });
  const vms = new VmTracker(options.store, options.events, clouds);
  clouds.onChange(() => void reconciler.syncClouds());
  const images = new ImageStore(options.store, options.events, {
    directory: options.imageDir ?? join(tmpdir(), 'bivouac-images'),
    usage: (imageId) => vms.usingImage(imageId),
    ...(options.imageFreeBytes ? { freeBytes: options.imageFreeBytes } : {}),
  });
  const modules = new Modules(options.store, options.events);
  const runs = new Runs(options.store, options.events, modules, clouds, reservations, vms, images, {
    agentUrl: options.agentUrl ?? 'http://10.0.2.2:8080',
    ...options.runs,
  });
  // Wrong kiosk PINs and wrong passwords are throttled by the same rules (under their own keys).
  const throttle = options.throttle ?? new LoginThrottle();
  // Each new log line goes live to administrators' open streams (the Box page's log follows it).
  options.logs?.onLine((line) => {
    options.events.broadcast({ type: 'box.log', subject: { kind: 'box', id: 'box' }, access: privateTo('system'), data: { line } });
  });
  const reconciler = new Reconciler(clouds, vms, reservations, options.events, {
    onVanished: (vm) => runs.vmVanished(vm.runId, vm.instance, vm.goneReason ?? 'vanished'),
    sweepBox: () => runs.sweepNetworks(),
    isHeld: (reservation) => runs.holds(reservation),
    ...options.reconciler,
  });
  return {
    store: options.store,
    events: options.events,
    accounts: new Accounts({
      store: options.store,
      events: options.events,
      sessionHours: options.sessionHours ?? 24 * 7,
      throttle,
    }),
    kiosk: new Kiosk({ store: options.store, events: options.events, throttle }),
    reservations,
    clouds,
    vms,
    reconciler,
    images,
    modules,
    runs,
    apps: new Apps(options.store, options.events, modules, images, reservations, runs, { directory: options.appsDir ?? join(tmpdir(), 'bivouac-apps'), parseContent }),
    history: options.history ?? null,
    sampler: options.sampler ?? null,
    power: options.power ?? noPowerControl,
    vmUsage: new VmUsageMeter(vms, clouds),
    facts: options.facts ?? hostFacts({ dataDir: options.dataDir, accelerator: () => acceleratorOf(libvirtUri) }),
    logs: options.logs ?? null,
    hypervisorUri: libvirtUri,
    isDryRun: isDryRunUri(libvirtUri),
    tlsFingerprint: options.tlsFingerprint ?? null,
    heartbeatMs: (options.heartbeatSeconds ?? 15) * 1000,
    rendererDir: options.rendererDir ?? null,
  };
}

/** How VMs run on the box's hypervisor: the test driver runs none, so there it is not known. */
export async function acceleratorOf(libvirtUri: string): Promise<'kvm' | 'tcg' | null> {
  if (isDryRunUri(libvirtUri)) return null;
  return (await chooseDomainType('auto', libvirtUri)) === 'kvm' ? 'kvm' : 'tcg';
}

/** An appliance not given the host's power control (embedded, tests) says so instead of acting. */
const noPowerControl: PowerControl = {
  perform: async (action) => {
    throw new BivouacError('POWER_FAILED', `This appliance was started without power control; it cannot ${action} the box.`, { action, reason: 'no power control' });
  },
};

export interface BuildOptions {
  https?: { key: string; cert: string };
  logger?: FastifyBaseLogger;
  /** Which listener this app serves (see api/listener.ts); `public` by default. */
  listener?: ListenerRole;
}

/** JSON bodies above this are refused with BODY_TOO_LARGE. */
export const jsonBodyLimit = 256 * 1024;

const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Builds the HTTP app without listening: tests call `inject()`, `server.ts` calls `listen()`. */
export async function build(services: Services, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: jsonBodyLimit,
    ...(options.https ? { https: options.https } : {}),
    // Request lines are off (too chatty on a box); warnings and errors still reach the log.
    ...(options.logger ? { loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }) } : { logger: false }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;

  const listener: ListenerRole = options.listener ?? 'public';
  app.decorateRequest('listener', 'public');
  app.addHook('onRequest', async (request) => {
    request.listener = listener;
  });

  if (listener === 'agent') {
    // Guests reach this listener: it answers the agent API and nothing else (no sign-in, no
    // setup, no UI), whatever else the app has routes for.
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0] ?? '';
      if (path.startsWith(`${apiPrefix}/agent/`)) return;
      const error = new BivouacError('NOT_FOUND', `No route ${request.method} ${path} here: this listener serves only ${apiPrefix}/agent/*.`, { resource: 'route', method: request.method, path });
      return reply.code(404).send(errorBody(error));
    });
  }

  installErrorHandling(app, jsonBodyLimit);
  // The API speaks JSON only; any other body is refused as UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyCookie);

  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('content-security-policy', contentSecurityPolicy);
    if (request.protocol === 'https') void reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

  app.get('/healthz', async () => ({ status: 'ok', version }));
  const openApi = buildOpenApi(version);
  app.get(`${apiPrefix}/openapi.json`, async () => openApi);

  registerRoutes(app, services.accounts, {
    ...sessionHandlers(services.accounts, { tlsFingerprint: services.tlsFingerprint, version, isDryRun: services.isDryRun }),
    ...userHandlers(services.accounts),
    ...capacityHandlers(services.reservations),
    ...cloudHandlers(services.clouds),
    ...vmHandlers(services.vms, services.reconciler),
    ...imageHandlers(services.images),
    ...moduleHandlers(services.modules),
    ...runHandlers(services.runs),
    ...agentHandlers(services.runs),
    ...appHandlers(services.apps),
    ...kioskHandlers(services.kiosk),
    ...boxHandlers({
      history: services.history,
      sampler: () => services.sampler,
      vms: services.vms,
      power: services.power,
      events: services.events,
      facts: () => services.facts,
      logs: () => services.logs,
      identity: { version, tlsFingerprint: services.tlsFingerprint, hypervisorUri: services.hypervisorUri, isDryRun: services.isDryRun },
    }),
  }, (bearer) => services.runs.authenticateAgent(bearer));
  registerAppFiles(app, services.accounts, services.apps);
  const closeStreams = registerEventStream(app, {
    accounts: services.accounts,
    events: services.events,
    heartbeatMs: services.heartbeatMs,
  });
  app.addHook('preClose', async () => closeStreams());

  const rendererDir = services.rendererDir;
  const hasRenderer = rendererDir !== null && existsSync(join(rendererDir, 'index.html'));
  if (hasRenderer) {
    await app.register(fastifyStatic, {
      root: rendererDir,
      wildcard: false,
      index: false,
      setHeaders: (reply, path) => {
        const isHashedAsset = path.startsWith(join(rendererDir, 'assets'));
        void reply.header('cache-control', isHashedAsset ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (hasRenderer && request.method === 'GET' && !path.startsWith('/api/') && !path.includes('.')) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    const error = new BivouacError('NOT_FOUND', `No route ${request.method} ${path}.`, { resource: 'route', method: request.method, path });
    return reply.code(404).send(errorBody(error));
  });

  return app;
}

import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from './api/auth/accounts.ts';
import { Kiosk } from './api/auth/kiosk.ts';
import type { LoginThrottle } from './api/auth/login-throttle.ts';
import { PasswordChecks } from './api/auth/password-checks.ts';
import { SetupCode } from './api/auth/setup-code.ts';
import { installErrorHandling } from './api/errors-http.ts';
import { hostOnlyPolicy, installHostCheck, type HostPolicy } from './api/host-check.ts';
import type { ListenerRole } from './api/listener.ts';
import { Readiness } from './readiness.ts';
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
import { domainEvent } from './domain/events.ts';
import type { Amounts } from './domain/capacity.ts';
import { limits } from './domain/limits.ts';
import { BivouacError, errorBody } from './errors.ts';
import { keysDirOf } from './config.ts';
import { Clouds } from './connectors/clouds.ts';
import { isDryRunUri } from './connectors/libvirt/default-uri.ts';
import { libvirtKind } from './connectors/libvirt/libvirt-connector.ts';
import { ConnectorRegistry } from './connectors/registry.ts';
import { Apps } from './catalog/apps.ts';
import { Modules } from './library/modules.ts';
import { chooseDomainType } from './connectors/libvirt/accelerator.ts';
import { hostFacts, type BoxFactsSource } from './host/facts.ts';
import { isGuestSocket } from './host/guest-connections.ts';
import { ImageStore } from './host/images.ts';
import { ImportFolders, removableMediaRoots } from './host/import-files.ts';
import type { LogRing } from './host/log-ring.ts';
import type { MetricsSampler } from './host/metrics.ts';
import type { PowerControl } from './host/power.ts';
import type { History } from './store/history.ts';
import { VmUsageMeter } from './orchestrator/vm-usage.ts';
import { Reconciler, type ReconcilerOptions } from './orchestrator/reconciler.ts';
import { Reservations } from './orchestrator/reservations.ts';
import { defaultArchiveAfterHours, RunArchiver } from './orchestrator/run-archiver.ts';
import { Runs, type RunsOptions } from './orchestrator/runs.ts';
import type { RunArchive } from './store/run-archive.ts';
import type { RunLogs } from './store/run-logs.ts';
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
  /** The one-time code for creating the first administrator from another machine. */
  setupCode: SetupCode;
  /** Every password and PIN check: the throttle and the box-wide cap on hashes in flight. */
  passwordChecks: PasswordChecks;
  reservations: Reservations;
  clouds: Clouds;
  /** The folder cloud URIs may name key files in (`keyfile=`, `known_hosts=`). */
  cloudKeysDir: string;
  vms: VmTracker;
  reconciler: Reconciler;
  images: ImageStore;
  /** The only folders an import by path reads from: removable media and the configured import folders. */
  importFolders: ImportFolders;
  modules: Modules;
  runs: Runs;
  /** Finished runs kept out of the main document. */
  archive: RunArchive;
  /** Run logs, a file per run. */
  runLogs: RunLogs;
  /** Moves finished runs to the archive, deletes and purges them. */
  archiver: RunArchiver;
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
  /** What the start-up still does before a deploy can be served (`/healthz`). */
  readiness: Readiness;
  /** The box's own hypervisor. */
  hypervisorUri: string;
  /** The box's hypervisor is libvirt's test driver: no real VMs (shown as a banner). */
  isDryRun: boolean;
  tlsFingerprint: string | null;
  heartbeatMs: number;
  /**
   * The uid QEMU runs as, where it is not the appliance's own (libvirt-qemu): connections its
   * sockets open are guests' (user networking reaches the host's loopback through QEMU) and are
   * refused everywhere but on the agent listener. Null: no such check (test driver, QEMU as root).
   */
  guestUid: number | null;
  /** The built renderer (index.html and assets), or null to serve the API only. */
  rendererDir: string | null;
}

export interface ServiceOptions {
  /** The appliance's data directory (the store and the event log live there). */
  dataDir: string;
  store: Store<MainDocument>;
  events: EventLog;
  sessionHours?: number;
  /** The clock sessions are opened and judged by (tests move it to see a session expire). */
  now?: () => Date;
  heartbeatSeconds?: number;
  /** See Services.guestUid. */
  guestUid?: number | null;
  tlsFingerprint?: string | null;
  rendererDir?: string | null;
  throttle?: LoginThrottle;
  /** The first-run setup code (server.ts: `BIVOUAC_SETUP_CODE`); a new random one by default. */
  setupCode?: string;
  /** The box's capacity (from host facts in `server.ts`). */
  box?: Amounts | (() => Amounts);
  /** The box's own hypervisor. */
  libvirtUri?: string;
  /** Where the box's VMs keep overlays, seeds and console logs. */
  vmDir?: string;
  /** Where base images live; a temporary folder by default. */
  imageDir?: string;
  /** Folders besides removable media that imports by path may read from (`importDirs`). */
  importDirs?: readonly string[];
  /** Free-space check of the image store (tests). */
  imageFreeBytes?: (directory: string) => Promise<number>;
  history?: History;
  /** Finished runs kept out of the main document (`<dataDir>/archive`). */
  archive: RunArchive;
  /** Run logs, a file per run (`<dataDir>/run-logs`). */
  runLogs: RunLogs;
  /** Hours after its end a finished run moves to the archive (config `archiveAfterHours`). */
  archiveAfterHours?: number;
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
  registry.register(
    libvirtKind({
      stateDir: options.vmDir ?? join(tmpdir(), 'bivouac-vms'),
      keysDir: keysDirOf(options.dataDir),
    }),
  );
  const reservations = new Reservations(options.store, options.events, options.box ?? defaultBox);
  const clouds = new Clouds(options.store, options.events, registry, {
    kind: 'libvirt',
    config: { uri: libvirtUri },
    name: 'This box',
  });
  const vms = new VmTracker(options.store, options.events, clouds);
  clouds.onChange(() => void reconciler.syncClouds());
  const images = new ImageStore(options.store, options.events, {
    directory: options.imageDir ?? join(tmpdir(), 'bivouac-images'),
    usage: (imageId) => vms.usingImage(imageId),
    ...(options.imageFreeBytes ? { freeBytes: options.imageFreeBytes } : {}),
  });
  const modules = new Modules(options.store, options.events);
  const importFolders = new ImportFolders({
    roots: [...removableMediaRoots, ...(options.importDirs ?? [])],
    // The data dir holds other tenants' disks, the store and the keys: never an import source.
    excluded: [
      options.dataDir,
      ...[options.imageDir, options.vmDir, options.appsDir].filter(
        (dir): dir is string => dir !== undefined,
      ),
    ],
  });
  const runs = new Runs(options.store, options.events, modules, clouds, reservations, vms, images, {
    agentUrl: options.agentUrl ?? 'http://10.0.2.2:8080',
    archive: options.archive,
    logs: options.runLogs,
    ...options.runs,
  });
  const archiver = new RunArchiver(
    options.store,
    options.archive,
    options.runLogs,
    options.events,
    {
      archiveAfterMs: (options.archiveAfterHours ?? defaultArchiveAfterHours) * 3_600_000,
    },
  );
  // Wrong kiosk PINs and wrong passwords are throttled by the same rules (under their own keys),
  // and share the one cap on scrypt hashes in flight.
  const passwordChecks = new PasswordChecks(options.throttle ? { throttle: options.throttle } : {});
  // Each new log line goes live to administrators' open streams (the Box page's log follows it).
  options.logs?.onLine((line) => {
    options.events.broadcast(domainEvent('box.log', 'box', privateTo('system'), { line }));
  });
  const reconciler = new Reconciler(clouds, vms, reservations, options.events, {
    onVanished: (vm) => runs.vmVanished(vm.runId, vm.instance, vm.goneReason ?? 'vanished'),
    sweepBox: () => runs.sweepNetworks(),
    isExpected: (cloudId, nativeId) => runs.willLaunchOrClear(cloudId, nativeId),
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
      checks: passwordChecks,
      ...(options.now ? { now: options.now } : {}),
    }),
    kiosk: new Kiosk({ store: options.store, events: options.events, checks: passwordChecks }),
    setupCode: new SetupCode(options.setupCode),
    passwordChecks,
    reservations,
    clouds,
    cloudKeysDir: keysDirOf(options.dataDir),
    vms,
    reconciler,
    images,
    importFolders,
    modules,
    runs,
    archive: options.archive,
    runLogs: options.runLogs,
    archiver,
    apps: new Apps(options.store, options.events, modules, images, reservations, runs, {
      directory: options.appsDir ?? join(tmpdir(), 'bivouac-apps'),
      parseContent,
    }),
    history: options.history ?? null,
    sampler: options.sampler ?? null,
    power: options.power ?? noPowerControl,
    vmUsage: new VmUsageMeter(vms, clouds),
    facts:
      options.facts ??
      hostFacts({ dataDir: options.dataDir, accelerator: () => acceleratorOf(libvirtUri) }),
    logs: options.logs ?? null,
    readiness: new Readiness(),
    hypervisorUri: libvirtUri,
    isDryRun: isDryRunUri(libvirtUri),
    tlsFingerprint: options.tlsFingerprint ?? null,
    heartbeatMs: (options.heartbeatSeconds ?? 15) * 1000,
    guestUid: options.guestUid ?? null,
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
    throw new BivouacError(
      'POWER_FAILED',
      `This appliance was started without power control; it cannot ${action} the box.`,
      { action, reason: 'no power control' },
    );
  },
};

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

const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * A JSON request (headers and body) must arrive within `limits.requestTimeoutMs`, so a client
 * that trickles a body cannot hold a socket and a buffer. Uploads stream for as long as they
 * move (bounded by the idle-connection limit), and replies may take as long as their handler.
 */
function limitRequestTime(app: FastifyInstance): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  const clear = async (request: { raw: object }): Promise<void> => {
    clearTimeout(timers.get(request.raw));
    timers.delete(request.raw);
  };
  app.addHook('onRequest', async (request) => {
    if (request.headers['content-type'] === 'application/octet-stream') return;
    const timer = setTimeout(() => request.raw.destroy(), limits.requestTimeoutMs);
    timer.unref();
    timers.set(request.raw, timer);
  });
  app.addHook('preHandler', clear);
  app.addHook('onResponse', clear);
  app.addHook('onRequestAbort', clear);
}

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
  const guestUid = services.guestUid;
  if (options.listener !== 'agent' && guestUid !== null) {
    // A guest on user networking reaches the host's loopback and addresses through QEMU, so its
    // connections look like the box's own: the kernel's owner of their other end tells them apart.
    const guests = new WeakMap<Socket, boolean>();
    app.addHook('onRequest', async (request) => {
      const socket = request.raw.socket;
      let isGuest = guests.get(socket);
      if (isGuest === undefined)
        guests.set(socket, (isGuest = await isGuestSocket(socket, guestUid)));
      if (isGuest)
        throw new BivouacError(
          'GUEST_REFUSED',
          "This connection comes from a VM through QEMU's user networking; guests reach only the agent API, on their agent URL.",
        );
    });
  }
  limitRequestTime(app);

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
      const error = new BivouacError(
        'NOT_FOUND',
        `No route ${request.method} ${path} here: this listener serves only ${apiPrefix}/agent/*.`,
        { resource: 'route', method: request.method, path },
      );
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
    if (request.protocol === 'https')
      void reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

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

  const rendererDir = services.rendererDir;
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

  return app;
}

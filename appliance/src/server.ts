import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { acceleratorOf, createServices } from './app-services.ts';
import { build } from './app.ts';
import { ConfigError, isLoopback, loadConfig, parseHostPort, type Config } from './config.ts';
import { installBuiltIns } from './server-built-ins.ts';
import { openDataDir } from './server-data-dir.ts';
import { agentUrlOf, hostPolicyOf, privateNetworksOf, publicHostOf } from './server-network.ts';
import { stopOnSignals } from './server-shutdown.ts';
import { BivouacError } from './errors.ts';
import { pickLibvirtUri } from './connectors/libvirt/default-uri.ts';
import { AgentServers } from './api/agent-listeners.ts';
import { boxCapacity } from './host/box-capacity.ts';
import { hostFacts } from './host/facts.ts';
import { qemuUserId } from './host/guest-connections.ts';
import { LogRing, teeDestination } from './host/log-ring.ts';
import { announceSamples, MetricsSampler } from './host/metrics.ts';
import { hostPowerControl } from './host/power.ts';
import { DisposerStack } from './disposers.ts';
import { keepAllocatorToSelf } from './host/allocator.ts';
import { History } from './store/history.ts';
import { RunArchive } from './store/run-archive.ts';
import { RunLogs } from './store/run-logs.ts';
import { DataDirInUseError } from './host/data-dir-lock.ts';
import { StoreOpenError } from './store/open-store.ts';
import { rendererDir } from './paths.ts';
import { version } from './version.ts';

interface Listener {
  app: FastifyInstance;
  url: string;
}

async function listen(
  app: FastifyInstance,
  address: string,
  scheme: 'http' | 'https',
): Promise<Listener> {
  const { host, port } = parseHostPort(address);
  await app.listen({ host, port });
  const bound = app.server.address();
  const actualPort = typeof bound === 'object' && bound ? bound.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { app, url: `${scheme}://${shownHost}:${actualPort}` };
}

/** Creates the first administrator unattended (BIVOUAC_ADMIN_PASSWORD) when none exists. */
async function ensureAdmin(
  config: Config,
  services: ReturnType<typeof createServices>,
  logger: Logger,
): Promise<void> {
  if (!config.adminPassword || !services.accounts.needsAdmin) return;
  const username = process.env.BIVOUAC_ADMIN_USER || 'admin';
  await services.accounts.createUser(username, config.adminPassword, 'admin', null, {
    onlyIfNoAdmin: true,
  });
  logger.info({ username }, 'created the first administrator from BIVOUAC_ADMIN_PASSWORD');
}

/** Wires the real adapters, listens, and stops cleanly on SIGTERM/SIGINT. */
export async function start(): Promise<void> {
  keepAllocatorToSelf(process.env);
  const config = await loadConfig();
  // stdout gets every line as before; the ring keeps the newest for the Box page.
  const logs = new LogRing(1000);
  const logger = pino(
    { level: config.logLevel, base: { service: 'bivouac', pid: process.pid } },
    teeDestination(pino.destination({ dest: 1, sync: false }), logs),
  );
  logger.info({ version, dataDir: config.dataDir }, 'starting');
  const disposers = new DisposerStack();
  try {
    await startParts(config, logs, logger, disposers);
  } catch (error) {
    // What started before the failure stops in order: the store flushed, the lock given back.
    await disposers.dispose();
    throw error;
  }
}

/** Starts each part, registering its stop; SIGTERM and SIGINT run the stops, last first. */
async function startParts(
  config: Config,
  logs: LogRing,
  logger: Logger,
  disposers: DisposerStack,
): Promise<void> {
  const { dataDirLock, store, events, tls } = await openDataDir(config, logger, disposers);

  const hypervisor = await pickLibvirtUri(config.libvirtUri);
  if (hypervisor.dryRun)
    logger.warn(
      { libvirtUri: hypervisor.uri, reason: hypervisor.reason },
      'dry-run hypervisor: no real VMs',
    );
  else logger.info({ libvirtUri: hypervisor.uri, reason: hypervisor.reason }, 'hypervisor');

  const listeners: Listener[] = [];
  const main = parseHostPort(config.listen);
  const mainIsHttps = config.tls === 'always' || !isLoopback(main.host);
  const serviceHost = publicHostOf(config);
  const agentUrl = agentUrlOf(config);
  const hosts = hostPolicyOf(config, serviceHost, agentUrl, mainIsHttps);
  // Guests reach the appliance only here: the agent API on their run network's gateway (or a
  // loopback port, which user networking's 10.0.2.2 reaches).
  const agentServers = new AgentServers();
  const networks =
    hypervisor.dryRun || config.privateNetworks === 'off'
      ? null
      : await privateNetworksOf(hypervisor.uri, serviceHost, agentServers);
  logger.info({ networks: networks ? 'private per run' : 'user networking' }, 'guest networking');
  // Guests on user networking reach the host's loopback through QEMU; where QEMU runs as its own
  // user, its connections are told apart and refused everywhere but on the agent listener.
  const guestUid =
    hypervisor.dryRun || hypervisor.uri !== 'qemu:///system' ? null : await qemuUserId();
  if (!hypervisor.dryRun)
    logger.info(
      { guestUid },
      guestUid === null
        ? "QEMU runs as this appliance's user or root: guests on user networking are not told apart on loopback"
        : 'connections from QEMU are refused but on the agent listener',
    );
  const history = await History.open({
    directory: join(config.dataDir, 'history'),
    log: (level, details, message) => logger[level](details, message),
  });
  disposers.defer('metric history', () => history.close());
  const archive = await RunArchive.open(join(config.dataDir, 'archive'));
  const runLogs = await RunLogs.open(join(config.dataDir, 'run-logs'));
  disposers.defer('run logs', () => runLogs.settled());
  const services = createServices({
    dataDir: config.dataDir,
    archive,
    runLogs,
    archiveAfterHours: config.archiveAfterHours,
    guestUid,
    history,
    store,
    events,
    sessionHours: config.sessionHours,
    heartbeatSeconds: config.heartbeatSeconds,
    tlsFingerprint: tls.fingerprint,
    rendererDir: process.env.BIVOUAC_RENDERER_DIR || rendererDir,
    box: boxCapacity(config.capacity, join(config.dataDir, 'vms')),
    libvirtUri: hypervisor.uri,
    vmDir: join(config.dataDir, 'vms'),
    importDirs: config.importDirs,
    imageDir: join(config.dataDir, 'images'),
    appsDir: join(config.dataDir, 'apps'),
    reconciler: { log: (level, details, message) => logger[level](details, message) },
    agentUrl,
    ...(config.setupCode ? { setupCode: config.setupCode } : {}),
    ...(config.powerControl === 'host' ? { power: hostPowerControl() } : {}),
    facts: hostFacts({
      dataDir: config.dataDir,
      listening: () => listeners.map((listener) => listener.url),
      accelerator: () => acceleratorOf(hypervisor.uri),
    }),
    logs,
    runs: {
      publicHost: serviceHost,
      networks,
      agentListeners: hypervisor.dryRun ? null : agentServers,
    },
  });
  disposers.defer('clouds', () => services.clouds.close());
  // Stored clouds were checked against today's URI rule when the services were made, before the
  // reconciler, runs and health checks below can contact one: a refused one stays disabled.
  for (const cloud of services.clouds.disabledClouds())
    logger.warn(cloud, 'a stored cloud is disabled and never contacted: its config is refused');
  const agentApp = await build(services, { logger, listener: 'agent' });
  agentServers.serve(agentApp);
  await services.images.recover();
  // Images stored by older versions pass the image rule again before any run can launch on them.
  const { unusable } = await services.images.recheck();
  for (const refused of unusable)
    logger.error(refused, 'a stored base image failed the image check and is marked unusable');
  await services.apps.recover();
  // The first pass runs beside listening: a slow remote cloud must not delay the UI.
  void services.reconciler.start();
  disposers.defer('reconciler', () => services.reconciler.stop());
  // Finished runs older than the archive age leave the main document before anything else writes
  // it (a box upgraded with years of runs in it moves them here, once), then hourly.
  const archived = await services.archiver.archiveFinished();
  if (archived > 0) logger.info({ runs: archived }, 'moved finished runs to the archive');
  // Log entries the runs left in the main document (a crash, a full disk, an older store) go to
  // their files.
  await services.runs.settleLogs();
  await services.runs.start();
  // Stopped first of all (waiting agents are answered so the listeners close), awaited here.
  let runsStopping: Promise<void> | null = null;
  disposers.defer('runs', () => runsStopping ?? services.runs.stop());
  disposers.defer(
    'cloud health checks',
    services.clouds.watchHealth({
      watchedMs: config.cloudHealthSeconds * 1000,
      idleMs: config.cloudHealthSeconds * 4000,
    }),
  );
  const sampler = new MetricsSampler({
    dataDir: config.dataDir,
    history,
    vmUsage: () => services.vmUsage.read(),
    log: (level, details, message) => logger[level](details, message),
    onSample: announceSamples(events),
  });
  services.sampler = sampler;
  disposers.defer('metrics sampler', sampler.start());
  disposers.defer('agent listeners', async () => {
    await agentServers.closeAll();
    await agentApp.close();
  });
  services.vms.onGone((vm) => void history.forget(`vm.${vm.id}.`));
  await ensureAdmin(config, services, logger);
  if (services.accounts.needsAdmin) {
    // Only someone who sees the box's screen or its log can set it up from another machine.
    logger.warn(
      { setupCode: services.setupCode.current },
      `no administrator yet: create one on the box's own screen, or from another machine with the setup code ${services.setupCode.current}`,
    );
  }
  logger.info(
    { uiUrl: hosts.uiUrl, serviceHost, hostNames: hosts.names },
    "the UI answers under the box's names; the apps' services under the service host",
  );
  disposers.defer('listeners', () =>
    Promise.all(listeners.map((listener) => listener.app.close())),
  );
  disposers.defer('waiting agents', () => {
    runsStopping = services.runs.stop();
  });
  listeners.push(
    await listen(
      await build(services, { logger, hosts, ...(mainIsHttps ? { https: tls } : {}) }),
      config.listen,
      mainIsHttps ? 'https' : 'http',
    ),
  );
  let screenUrl: string | null = null;
  if (config.localListen !== 'off' && config.localListen !== config.listen) {
    if (!isLoopback(parseHostPort(config.localListen).host)) {
      throw new ConfigError(
        `localListen ${config.localListen} is not a loopback address; plain HTTP is served only on loopback.`,
      );
    }
    const local = await listen(
      await build(services, { logger, hosts, listener: 'local' }),
      config.localListen,
      'http',
    );
    listeners.push(local);
    screenUrl = local.url;
  }
  logger.info(
    { urls: listeners.map((listener) => listener.url), libvirtUri: hypervisor.uri },
    'listening',
  );
  dataDirLock.describe(
    listeners.map((listener) => listener.url),
    screenUrl,
  );
  disposers.defer('run archiver', services.archiver.start(3_600_000));

  // The shipped catalog and images install once the UI answers; /healthz says "starting" until
  // they are in.
  const { catalogInstalled, imagesInstalled } = installBuiltIns(services, logger);

  // Imports under way are abandoned (they leave nothing behind), so none holds up the exit.
  disposers.defer('imports', async () => {
    services.apps.close();
    await services.images.close();
    await catalogInstalled;
    await imagesInstalled;
  });

  stopOnSignals(disposers, logger);
}

function explain(error: unknown): string {
  if (
    error instanceof StoreOpenError ||
    error instanceof ConfigError ||
    error instanceof DataDirInUseError ||
    error instanceof BivouacError
  )
    return error.message;
  return (error as Error)?.stack ?? String(error);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  start().catch((error: unknown) => {
    process.stderr.write(`bivouac: cannot start: ${explain(error)}\n`);
    process.exit(1);
  });
}

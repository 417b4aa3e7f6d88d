import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts } from './api/auth/accounts.ts';
import { Kiosk } from './api/auth/kiosk.ts';
import type { LoginThrottle } from './api/auth/login-throttle.ts';
import { PasswordChecks } from './api/auth/password-checks.ts';
import { SetupCode } from './api/auth/setup-code.ts';
import { parseContent } from './api/routes/module-routes.ts';
import { Apps } from './catalog/apps.ts';
import { keysDirOf } from './config.ts';
import { Clouds } from './connectors/clouds.ts';
import { chooseDomainType } from './connectors/libvirt/accelerator.ts';
import { isDryRunUri } from './connectors/libvirt/default-uri.ts';
import { libvirtKind } from './connectors/libvirt/libvirt-connector.ts';
import { ConnectorRegistry } from './connectors/registry.ts';
import { privateTo } from './domain/access.ts';
import type { Amounts } from './domain/capacity.ts';
import { domainEvent } from './domain/events.ts';
import { BivouacError } from './errors.ts';
import { hostFacts, type BoxFactsSource } from './host/facts.ts';
import { ImageStore } from './host/images.ts';
import { ImportFolders, removableMediaRoots } from './host/import-files.ts';
import type { LogRing } from './host/log-ring.ts';
import type { MetricsSampler } from './host/metrics.ts';
import type { PowerControl } from './host/power.ts';
import { Modules } from './library/modules.ts';
import { Reconciler, type ReconcilerOptions } from './orchestrator/reconciler.ts';
import { Reservations } from './orchestrator/reservations.ts';
import { defaultArchiveAfterHours, RunArchiver } from './orchestrator/run-archiver.ts';
import { Runs, type RunsOptions } from './orchestrator/runs.ts';
import { VmTracker } from './orchestrator/vm-tracker.ts';
import { VmUsageMeter } from './orchestrator/vm-usage.ts';
import { Readiness } from './readiness.ts';
import type { MainDocument } from './store/document.ts';
import type { EventLog } from './store/event-log.ts';
import type { History } from './store/history.ts';
import type { RunArchive } from './store/run-archive.ts';
import type { RunLogs } from './store/run-logs.ts';
import type { Store } from './store/store.ts';

/**
 * What the HTTP app needs: every part of the appliance, made and wired by `createServices`;
 * `server.ts` makes the real ones, tests make their own.
 */
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
    onVanished: (vm) => runs.vmWatch.vmVanished(vm.runId, vm.instance, vm.goneReason ?? 'vanished'),
    sweepBox: () => runs.sweepNetworks(),
    isExpected: (cloudId, nativeId) => runs.vmWatch.willLaunchOrClear(cloudId, nativeId),
    isHeld: (reservation) => runs.vmWatch.holds(reservation),
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

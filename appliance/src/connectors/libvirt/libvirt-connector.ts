import { DomainState, Hypervisor, type Domain } from '@unraid/libvirt';
import { execFile } from 'node:child_process';
import { freeHostPort } from '../../host/free-port.ts';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { diskTooSmallMessage, imageFactsOf, leastDiskGiB } from '../../domain/images.ts';
import {
  describeLibvirtTarget,
  parseLibvirtUri,
  type LibvirtTarget,
} from '../../domain/libvirt-uri.ts';
import { BivouacError } from '../../errors.ts';
import type {
  Connector,
  ConnectorKind,
  ConnectorManifest,
  VmDescription,
  VmSpec,
  VmState,
  WatchHandlers,
} from '../contract.ts';
import { chooseDomainType } from './accelerator.ts';
import { isConnectionError, toTypedError, withTimeout } from './call.ts';
import {
  buildDomainXml,
  contextText,
  isUserNetworking,
  readAddress,
  readFiles,
  readOwnership,
} from './domain-xml.ts';
import { buildSeed } from './nocloud.ts';
import { localSocketOf, SocketEventStream } from './socket-events.ts';
import { VirshEventStream } from './virsh-events.ts';

const run = promisify(execFile);

/**
 * A libvirt cloud's config; its URI is parsed by the rule in domain/libvirt-uri.ts, where
 * `keyfile` and `known_hosts` must name files in `keysDir` (the data dir's `keys/`).
 */
export function libvirtConfigSchema(keysDir: string | null) {
  return z.strictObject({
    uri: z.string().superRefine((uri, context) => {
      const verdict = parseLibvirtUri(uri, { keysDir });
      if (!verdict.ok) context.addIssue({ code: 'custom', message: verdict.refusal.message });
    }),
    accelerator: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    callTimeoutSeconds: z.number().min(1).max(600).default(30),
  });
}
/** The config without a keys folder (no `keyfile` allowed), for callers that have no data dir. */
export const libvirtConfig = libvirtConfigSchema(null);
export type LibvirtConfig = z.infer<typeof libvirtConfig>;

const manifestOf = (keysDir: string | null): ConnectorManifest<LibvirtConfig> => ({
  kind: 'libvirt',
  version: '1.0.0',
  capabilities: ['launch', 'terminate', 'describe', 'list', 'watch'],
  configSchema: libvirtConfigSchema(keysDir),
  description:
    'A libvirt/QEMU host: the box itself, another host over TCP, SSH or TLS, or the test driver for dry runs.',
});
export const libvirtManifest = manifestOf(null);

export interface LibvirtDependencies {
  /** Where overlays, seeds and console logs of this cloud's VMs live, one folder per VM. */
  stateDir: string;
  /** The folder `keyfile=` and `known_hosts=` may name files in; none: neither is allowed. */
  keysDir?: string | null;
  /** Overrides for the event stream (tests): its restart backoff. */
  eventStream?: { minBackoffMs?: number; maxBackoffMs?: number };
  /** Reconnection backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const states: Record<number, VmState> = {
  [DomainState.NOSTATE]: 'unknown',
  [DomainState.RUNNING]: 'running',
  [DomainState.BLOCKED]: 'running',
  [DomainState.PAUSED]: 'paused',
  [DomainState.SHUTDOWN]: 'shutting-down',
  [DomainState.SHUTOFF]: 'stopped',
  [DomainState.CRASHED]: 'crashed',
  [DomainState.PMSUSPENDED]: 'suspended',
};

/** Domain names Bivouac gives its VMs; also a safe folder name. */
const vmNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The libvirt connector. Every call has a timeout; a broken connection is dropped and
 * re-opened on the next call, no sooner than an exponential backoff allows.
 */
export class LibvirtConnector implements Connector {
  readonly manifest = libvirtManifest as ConnectorManifest;
  private hypervisor: Hypervisor | null = null;
  private opening: Promise<Hypervisor> | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError = '';
  /** The message of the failure that started the current wait, repeated while it lasts. */
  private lastFailure = '';

  /** Where the URI connects; the URI has passed the rule before anything can connect. */
  readonly target: LibvirtTarget;

  constructor(
    readonly config: LibvirtConfig,
    private readonly deps: LibvirtDependencies,
  ) {
    this.target = checkedTarget(config.uri, deps.keysDir ?? null);
  }

  private get timeoutMs(): number {
    return this.config.callTimeoutSeconds * 1000;
  }

  async launch(specs: readonly VmSpec[]): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of specs) ids.push(await this.launchOne(spec));
    return ids;
  }

  async terminate(nativeIds: readonly string[]): Promise<void> {
    for (const name of nativeIds) {
      const domain = await this.lookup(name);
      if (domain) {
        const info = await this.call('get state', (h) => h.domainGetInfo(domain), name);
        if (info.state !== DomainState.SHUTOFF) {
          await this.call('destroy', (h) => h.domainDestroy(domain), name).catch(
            (error: unknown) => {
              if (!(error instanceof BivouacError && error.code === 'CLOUD_REFUSED')) throw error;
            },
          );
        }
        await this.call('undefine', (h) => h.domainUndefine(domain), name).catch(
          (error: unknown) => {
            if (!(error instanceof BivouacError && error.code === 'VM_NOT_FOUND')) throw error;
          },
        );
      }
      if (vmNamePattern.test(name))
        await rm(join(this.deps.stateDir, name), { recursive: true, force: true });
    }
  }

  async describe(nativeIds: readonly string[]): Promise<VmDescription[]> {
    const found: VmDescription[] = [];
    for (const name of nativeIds) {
      const domain = await this.lookup(name);
      if (domain) found.push(await this.describeDomain(domain, name));
    }
    return found;
  }

  async list(): Promise<VmDescription[]> {
    const domains = await this.call('list domains', (h) => h.connectListAllDomains());
    const described: VmDescription[] = [];
    for (const domain of domains) {
      const name = await this.call('get name', (h) => h.domainGetName(domain));
      const description = await this.describeDomain(domain, name).catch((error: unknown) => {
        if (error instanceof BivouacError && error.code === 'VM_NOT_FOUND') return null; // vanished meanwhile
        throw error;
      });
      if (description) described.push(description);
    }
    return described;
  }

  /**
   * Lifecycle events: read from the daemon's socket when it is on this machine, from a
   * supervised `virsh event` child when it is remote (over ssh, TCP or TLS). A plain `test:///`
   * driver lives inside this process only, so no other process can see its events: nothing to
   * watch there.
   */
  watch(handlers: WatchHandlers): (() => Promise<void>) | null {
    if (/^test:\/\/\//.test(this.config.uri)) return null;
    const options = {
      onEvent: handlers.onEvent,
      onStatus: handlers.onStatus,
      ...this.deps.eventStream,
    };
    const local = localSocketOf(this.target);
    const stream = local
      ? new SocketEventStream({ ...options, socket: () => localSocketOf(this.target) ?? local })
      : new VirshEventStream({ ...options, uri: this.config.uri });
    stream.start();
    return () => stream.stop();
  }

  async publish(
    nativeId: string,
    guestPort: number,
  ): Promise<{ host: string; port: number } | null> {
    if (this.config.uri.startsWith('test')) return null; // the test driver runs no guest
    const domain = await this.lookup(nativeId);
    if (!domain)
      throw new BivouacError(
        'VM_NOT_FOUND',
        `The cloud ${this.config.uri} has no VM ${nativeId}.`,
        { cloud: this.config.uri, nativeId },
      );
    const xml = await this.call('get XML', (h) => h.domainGetXMLDesc(domain), nativeId);
    if (!isUserNetworking(xml)) {
      const [address] = readAddress(xml)
        ? [readAddress(xml)]
        : await this.leasedAddresses(nativeId);
      return address ? { host: address, port: guestPort } : null;
    }
    // User networking: a forward added to the running QEMU (it goes away with it). On this
    // machine a free port is found first; on a remote host, random ports are tried.
    const local = /^qemu(\+unix)?:\/\/\//.test(this.config.uri);
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const hostPort = local ? await freeHostPort() : 30000 + Math.floor(Math.random() * 10000);
      const { stdout } = await run(
        'virsh',
        [
          '-c',
          this.config.uri,
          'qemu-monitor-command',
          nativeId,
          '--hmp',
          `hostfwd_add hostnet0 tcp:0.0.0.0:${hostPort}-:${guestPort}`,
        ],
        {
          timeout: Math.min(this.timeoutMs, 10_000),
        },
      ).catch((error: { stderr?: string; message?: string }) => {
        throw new BivouacError(
          'CLOUD_REFUSED',
          `Cannot forward port ${guestPort} of ${nativeId}: ${error.stderr || error.message}`,
          { cloud: this.config.uri, reason: error.stderr ?? null },
        );
      });
      if (!/could not|error/i.test(stdout))
        return { host: local ? '' : remoteHost(this.config.uri), port: hostPort };
    }
    throw new BivouacError(
      'CLOUD_REFUSED',
      `Cannot forward port ${guestPort} of ${nativeId}: no free host port after 5 tries.`,
      { cloud: this.config.uri, reason: 'no free port' },
    );
  }

  async usage(
    nativeIds: readonly string[],
  ): Promise<{ nativeId: string; cpuTimeNs: number; memoryKiB: number; vcpus: number }[]> {
    const found: { nativeId: string; cpuTimeNs: number; memoryKiB: number; vcpus: number }[] = [];
    for (const name of nativeIds) {
      const domain = await this.lookup(name);
      if (!domain) continue;
      const info = await this.call('get info', (h) => h.domainGetInfo(domain), name);
      found.push({
        nativeId: name,
        cpuTimeNs: Number(info.cpuTime),
        memoryKiB: Number(info.memory),
        vcpus: Number(info.nrVirtCpu),
      });
    }
    return found;
  }

  /** Local hypervisors write the console where launch put it; a remote host keeps its own. */
  consoleLog(nativeId: string): string | null {
    if (
      !/^qemu(\+unix)?:\/\/\/(system|session)/.test(this.config.uri) ||
      !vmNamePattern.test(nativeId)
    )
      return null;
    return join(this.deps.stateDir, nativeId, 'console.log');
  }

  async ping(): Promise<number> {
    const started = performance.now();
    await this.call('ping', (h) => h.connectGetHostname());
    return performance.now() - started;
  }

  /** The last connection error, for the clouds list. */
  get lastConnectionError(): string | null {
    return this.lastError || null;
  }

  async close(): Promise<void> {
    const hypervisor = this.hypervisor;
    this.hypervisor = null;
    if (hypervisor)
      await withTimeout(hypervisor.connectClose(), 5000, this.config.uri, 'close').catch(
        () => undefined,
      );
  }

  private async launchOne(spec: VmSpec): Promise<string> {
    if (!vmNamePattern.test(spec.name)) {
      throw new BivouacError(
        'VALIDATION_FAILED',
        `VM name "${spec.name}" must be letters, digits, ".", "_" or "-", at most 64.`,
        {
          fields: [{ field: 'name', message: 'must be letters, digits, ".", "_" or "-"' }],
        },
      );
    }
    const folder = join(this.deps.stateDir, spec.name);
    // Others may pass through (QEMU may run as its own user) but not list; the seed with the
    // VM's token stays readable by its owner only.
    await mkdir(folder, { recursive: true, mode: 0o711 });
    try {
      const overlay = spec.image.kind === 'disk' ? await this.makeOverlay(spec, folder) : null;
      // Disk images are cloud images: cloud-init reads the context and agent from a NoCloud seed.
      const seed =
        spec.image.kind === 'disk' && !this.config.uri.startsWith('test')
          ? await buildSeed(folder, spec.name, spec.name, spec.context)
          : null;
      if (spec.image.kind === 'kernel')
        await this.checkReadable(spec.image.kernel, spec.image.initrd);
      // The context holds the agent token: a file the box's user alone reads (libvirt hands it to
      // QEMU, relabelling it for QEMU's user where it runs as another), never a command line.
      const context = join(folder, 'context');
      await writeFile(context, contextText(spec.context), { mode: 0o600 });
      await chmod(context, 0o600); // whatever the umask
      const domainType = await chooseDomainType(spec.accelerator, this.config.uri);
      const xml = buildDomainXml(
        spec,
        { overlay, seed, consoleLog: join(folder, 'console.log'), context },
        domainType,
      );
      const domain = await this.call('define', (h) => h.domainDefineXML(xml), spec.name);
      try {
        await this.call('start', (h) => h.domainCreate(domain), spec.name);
      } catch (error) {
        await this.call('undefine', (h) => h.domainUndefine(domain), spec.name).catch(
          () => undefined,
        );
        throw error;
      }
      return spec.name;
    } catch (error) {
      await rm(folder, { recursive: true, force: true });
      throw error;
    }
  }

  private async checkReadable(...paths: string[]): Promise<void> {
    if (this.config.uri.startsWith('test')) return; // the test driver never reads images
    for (const path of paths) {
      await access(path).catch(() => {
        throw new BivouacError('BAD_IMAGE', `Base image file ${path} is missing or unreadable.`, {
          image: path,
        });
      });
    }
  }

  /**
   * The VM's disk: a qcow2 overlay of `diskGiB` on the base image. It is never smaller than the
   * base (qemu-img would cut the guest's disk short without a word), and only the box's user
   * reads it: it holds what the guest writes, cloud-init's copy of the agent token among it, and
   * its path is on QEMU's command line for every local user to see.
   */
  private async makeOverlay(spec: VmSpec, folder: string): Promise<string> {
    if (spec.image.kind !== 'disk') throw new Error('not a disk image');
    const base = spec.image.path;
    const overlay = join(folder, 'disk.qcow2');
    if (this.config.uri.startsWith('test')) return overlay;
    await this.checkReadable(base);
    const refused = (error: { stderr?: string }): never => {
      throw new BivouacError(
        'BAD_IMAGE',
        `Cannot make a disk on base image ${base}: ${error.stderr ?? String(error)}`,
        { image: base },
      );
    };
    const { stdout } = await run(
      'qemu-img',
      ['info', '-U', '--output=json', '-f', spec.image.format, base],
      { timeout: this.timeoutMs },
    ).catch(refused);
    // The last guard (the size is checked when a run is asked for): the file as it is now.
    const baseBytes = virtualSizeOf(stdout);
    if (baseBytes === null)
      throw new BivouacError(
        'BAD_IMAGE',
        `qemu-img could not tell the virtual size of base image ${base}; it cannot be used.`,
        { image: base },
      );
    if (baseBytes > spec.diskGiB * 1024 ** 3) {
      throw new BivouacError(
        'DISK_TOO_SMALL',
        diskTooSmallMessage('the VM', spec.diskGiB, baseBytes),
        { diskGiB: spec.diskGiB, baseBytes, neededGiB: leastDiskGiB(baseBytes) },
      );
    }
    await run(
      'qemu-img',
      [
        'create',
        '-q',
        '-f',
        'qcow2',
        '-b',
        base,
        '-F',
        spec.image.format,
        overlay,
        `${spec.diskGiB}G`,
      ],
      { timeout: this.timeoutMs },
    ).catch(refused);
    await chmod(overlay, 0o600); // qemu-img follows the umask
    return overlay;
  }

  private async describeDomain(domain: Domain, name: string): Promise<VmDescription> {
    const info = await this.call('get state', (h) => h.domainGetInfo(domain), name);
    const xml = await this.call('get XML', (h) => h.domainGetXMLDesc(domain), name);
    const state = states[info.state] ?? 'unknown';
    const fixed = readAddress(xml);
    const ips =
      state !== 'running'
        ? []
        : fixed
          ? [fixed]
          : /<interface type=["']network["']/.test(xml)
            ? await this.leasedAddresses(name)
            : [];
    return { nativeId: name, name, state, ips, bivouac: readOwnership(xml) };
  }

  /**
   * Addresses a libvirt network's DHCP server leased to the VM (the binding has no call for
   * this, so virsh asks). User-mode networking has no lease: the guest agent reports its own.
   */
  private async leasedAddresses(name: string): Promise<string[]> {
    try {
      const { stdout } = await run(
        'virsh',
        ['-q', '-c', this.config.uri, 'domifaddr', name, '--source', 'lease'],
        { timeout: Math.min(this.timeoutMs, 10_000) },
      );
      return parseDomifaddr(stdout);
    } catch {
      return []; // no lease yet, or virsh missing: no address to show, not an error
    }
  }

  /** The domain, or null when it does not exist. */
  private async lookup(name: string): Promise<Domain | null> {
    try {
      return await this.call('look up', (h) => h.domainLookupByName(name), name);
    } catch (error) {
      if (error instanceof BivouacError && error.code === 'VM_NOT_FOUND') return null;
      throw error;
    }
  }

  /** Files named in a domain's XML, for callers that clean up after foreign tools. */
  async filesOf(name: string): Promise<string[]> {
    const domain = await this.lookup(name);
    return domain
      ? readFiles(await this.call('get XML', (h) => h.domainGetXMLDesc(domain), name))
      : [];
  }

  private async call<T>(
    what: string,
    work: (hypervisor: Hypervisor) => Promise<T>,
    nativeId?: string,
  ): Promise<T> {
    const hypervisor = await this.connection();
    try {
      return await withTimeout(work(hypervisor), this.timeoutMs, this.config.uri, what);
    } catch (error) {
      // What reads like a lost connection may be the daemon's own trouble (virtlogd down): if the
      // daemon still answers, the connection is kept and the failure is its refusal.
      const connected = isConnectionError(error) && (await this.answers(hypervisor));
      const typed = toTypedError(error, this.config.uri, what, nativeId, connected);
      // A connection another call has opened since is not this failure's to drop.
      if (typed.code === 'CLOUD_UNREACHABLE' && this.hypervisor === hypervisor) this.drop(typed);
      throw typed;
    }
  }

  /** Does the daemon answer on this connection, within a short while? */
  private async answers(hypervisor: Hypervisor): Promise<boolean> {
    try {
      await withTimeout(
        hypervisor.connectGetHostname(),
        Math.min(this.timeoutMs, 2000),
        this.config.uri,
        'ping',
      );
      return true;
    } catch {
      return false;
    }
  }

  private async connection(): Promise<Hypervisor> {
    if (this.hypervisor) return this.hypervisor;
    if (this.opening) return this.opening;
    const waitMs = this.retryAt - Date.now();
    if (waitMs > 0) {
      // The failure's own words, not a countdown: a health check sees one outage, not a new error each time.
      throw new BivouacError('CLOUD_UNREACHABLE', this.lastFailure, {
        cloud: this.config.uri,
        reason: this.lastError,
        retryInMs: waitMs,
      });
    }
    this.opening = (async () => {
      const hypervisor = new Hypervisor({ uri: this.config.uri });
      try {
        await withTimeout(hypervisor.connectOpen(), this.timeoutMs, this.config.uri, 'connect');
      } catch (error) {
        const typed = toTypedError(error, this.config.uri, 'connect');
        this.drop(typed);
        throw typed;
      }
      this.failures = 0;
      this.lastError = '';
      this.lastFailure = '';
      this.hypervisor = hypervisor;
      return hypervisor;
    })().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private drop(failure: BivouacError): void {
    this.hypervisor = null;
    this.failures += 1;
    this.lastError =
      typeof failure.details.reason === 'string' ? failure.details.reason : failure.message;
    this.lastFailure = failure.message;
    const min = this.deps.minBackoffMs ?? 500;
    const max = this.deps.maxBackoffMs ?? 30_000;
    this.retryAt = Date.now() + Math.min(max, min * 2 ** (this.failures - 1));
  }
}

/** The host of a remote URI (`qemu+ssh://root@rack2/system` → `rack2`), or '' for this machine. */
export function remoteHost(uri: string): string {
  const match = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/:?]*)/.exec(uri);
  return match?.[1] ?? '';
}

/** Addresses from `virsh domifaddr` output: `vnet0  52:54:00:…  ipv4  192.168.122.45/24`. */
export function parseDomifaddr(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /\s(ipv4|ipv6)\s+([0-9A-Fa-f.:]+)\/\d+\s*$/.exec(line)?.[2])
    .filter((address): address is string => address !== undefined);
}

/**
 * Where `uri` connects, or CLOUD_URI_REFUSED: every libvirt connection, virsh call and event
 * stream goes through a connector, and a connector is made only for a URI that passed.
 */
export function checkedTarget(uri: string, keysDir: string | null): LibvirtTarget {
  const verdict = parseLibvirtUri(uri, { keysDir });
  if (verdict.ok) return verdict.target;
  const { part, parameter, message } = verdict.refusal;
  throw new BivouacError('CLOUD_URI_REFUSED', `The libvirt URI ${message}.`, {
    part,
    parameter,
    fields: [{ field: 'uri', message }],
  });
}

/** The kind to register; `stateDir` and `keysDir` come from the appliance's data dir. */
export function libvirtKind(deps: LibvirtDependencies): ConnectorKind<LibvirtConfig> {
  return {
    manifest: manifestOf(deps.keysDir ?? null),
    create: (config) => new LibvirtConnector(config, deps),
    target: (config) => {
      const target = checkedTarget(config.uri, deps.keysDir ?? null);
      return {
        transport: target.transport,
        user: target.user,
        host: target.host,
        port: target.port,
        summary: describeLibvirtTarget(target),
      };
    },
  };
}

/** The virtual size in `qemu-img info --output=json`, or null when the output does not tell it. */
export function virtualSizeOf(output: string): number | null {
  try {
    return imageFactsOf(JSON.parse(output)).virtualBytes;
  } catch {
    return null;
  }
}

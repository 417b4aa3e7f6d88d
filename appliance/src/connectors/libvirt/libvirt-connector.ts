import { DomainState, type Domain, type Hypervisor } from '@unraid/libvirt';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeLibvirtTarget, type LibvirtTarget } from '../../domain/libvirt-uri.ts';
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
import {
  buildDomainXml,
  contextText,
  isUserNetworking,
  readAddress,
  readFiles,
  readOwnership,
} from './domain-xml.ts';
import { forwardGuestPort, leasedAddresses } from './guest-addresses.ts';
import {
  checkedTarget,
  libvirtManifest,
  libvirtManifestFor,
  type LibvirtConfig,
  type LibvirtDependencies,
} from './libvirt-config.ts';
import { LibvirtConnection } from './libvirt-connection.ts';
import { buildSeed } from './nocloud.ts';
import { checkReadable, makeOverlay } from './overlay-disk.ts';
import { localSocketOf, SocketEventStream } from './socket-events.ts';
import { VirshEventStream } from './virsh-events.ts';

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
 * The libvirt connector. Its calls go through one connection (libvirt-connection.ts): every call
 * has a timeout; a broken connection is dropped and re-opened on the next call, no sooner than an
 * exponential backoff allows.
 */
export class LibvirtConnector implements Connector {
  readonly manifest = libvirtManifest as ConnectorManifest;
  private readonly connection: LibvirtConnection;

  /** Where the URI connects; the URI has passed the rule before anything can connect. */
  readonly target: LibvirtTarget;

  constructor(
    readonly config: LibvirtConfig,
    private readonly deps: LibvirtDependencies,
  ) {
    this.target = checkedTarget(config.uri, deps.keysDir ?? null);
    this.connection = new LibvirtConnection({
      uri: config.uri,
      timeoutMs: this.timeoutMs,
      minBackoffMs: deps.minBackoffMs,
      maxBackoffMs: deps.maxBackoffMs,
    });
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
        : await leasedAddresses(this.config.uri, nativeId, this.timeoutMs);
      return address ? { host: address, port: guestPort } : null;
    }
    return forwardGuestPort(this.config.uri, nativeId, guestPort, this.timeoutMs);
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
    return this.connection.lastConnectionError;
  }

  async close(): Promise<void> {
    await this.connection.close();
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
      const overlay =
        spec.image.kind === 'disk'
          ? await makeOverlay(spec, folder, this.config.uri, this.timeoutMs)
          : null;
      // Disk images are cloud images: cloud-init reads the context and agent from a NoCloud seed.
      const seed =
        spec.image.kind === 'disk' && !this.config.uri.startsWith('test')
          ? await buildSeed(folder, spec.name, spec.name, spec.context)
          : null;
      if (spec.image.kind === 'kernel')
        await checkReadable(this.config.uri, spec.image.kernel, spec.image.initrd);
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
            ? await leasedAddresses(this.config.uri, name, this.timeoutMs)
            : [];
    return { nativeId: name, name, state, ips, bivouac: readOwnership(xml) };
  }

  private lookup(name: string): Promise<Domain | null> {
    return this.connection.lookup(name);
  }

  /** Files named in a domain's XML, for callers that clean up after foreign tools. */
  async filesOf(name: string): Promise<string[]> {
    const domain = await this.lookup(name);
    return domain
      ? readFiles(await this.call('get XML', (h) => h.domainGetXMLDesc(domain), name))
      : [];
  }

  private call<T>(
    what: string,
    work: (hypervisor: Hypervisor) => Promise<T>,
    nativeId?: string,
  ): Promise<T> {
    return this.connection.call(what, work, nativeId);
  }
}

/** The kind to register; `stateDir` and `keysDir` come from the appliance's data dir. */
export function libvirtKind(deps: LibvirtDependencies): ConnectorKind<LibvirtConfig> {
  return {
    manifest: libvirtManifestFor(deps.keysDir ?? null),
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

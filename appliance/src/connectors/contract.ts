import type { z } from 'zod';
import type { Amounts } from '../domain/capacity.ts';
import type { BootImage } from '../domain/images.ts';
import type { VmState } from '../domain/vms.ts';

/**
 * The connector contract: the only way the appliance touches a cloud. A connector kind
 * registers a manifest; an instance is a kind plus its config. The run decides what to launch;
 * the connector only does it.
 */

export const capabilities = [
  'launch',
  'terminate',
  'describe',
  'list',
  'capacity',
  'watch',
] as const;
export type Capability = (typeof capabilities)[number];

/** Every kind must be able to do these; the rest are optional. */
export const requiredCapabilities: readonly Capability[] = [
  'launch',
  'terminate',
  'describe',
  'list',
];

export interface ConnectorManifest<Config = unknown> {
  /** Lowercase name, unique in the registry: `libvirt`, `bivouac`… */
  kind: string;
  /** Semantic version of the connector implementation. */
  version: string;
  capabilities: readonly Capability[];
  /** Validates an instance's config at the edge (POST /clouds). */
  configSchema: z.ZodType<Config>;
  description: string;
}

/**
 * How a VM is networked.
 * - `user`: QEMU's user networking; the guest reaches the host's loopback at 10.0.2.2.
 * - `network`: a libvirt network; `mac` and `address` are the fixed DHCP entry made for it.
 */
export type NetworkChoice =
  { mode: 'user' } | { mode: 'network'; name: string; mac?: string; address?: string };

/** What the run asks a connector to launch for one instance. */
export interface VmSpec {
  /** Unique per connector instance; Bivouac names domains `bvc-<run>-<node>-<i>`. */
  name: string;
  title: string;
  runId: string;
  /** `node.i`, e.g. `web.1`. */
  instance: string;
  owner: string;
  vcpu: number;
  memoryMiB: number;
  diskGiB: number;
  image: BootImage;
  /** Key/value context for the guest (appliance URL, run id, instance, token). */
  context: Record<string, string>;
  network: NetworkChoice;
  accelerator: 'auto' | 'kvm' | 'tcg';
}

export type { VmState };

/** Bivouac's own marks on a VM; absent on VMs Bivouac did not make (foreign ones). */
export interface VmOwnership {
  runId: string;
  instance: string;
  owner: string;
}

export interface VmDescription {
  nativeId: string;
  name: string;
  state: VmState;
  ips: string[];
  bivouac: VmOwnership | null;
}

/** A pushed change of one VM's state. */
export interface VmEvent {
  nativeId: string;
  name: string;
  event: string;
  state: VmState | 'gone';
  time: string;
}

export interface WatchHandlers {
  onEvent(event: VmEvent): void;
  onStatus(up: boolean, reason: string): void;
}

export interface Connector {
  readonly manifest: ConnectorManifest;
  /** Launches every spec; returns native ids in the same order. A failure names the spec. */
  launch(specs: readonly VmSpec[]): Promise<string[]>;
  /** Destroys, undefines and deletes what launch created. Unknown ids are not an error. */
  terminate(nativeIds: readonly string[]): Promise<void>;
  describe(nativeIds: readonly string[]): Promise<VmDescription[]>;
  /** Bivouac's VMs and foreign ones (bivouac: null). */
  list(): Promise<VmDescription[]>;
  /** What the cloud can hold, when it can tell. */
  capacity?(): Promise<Amounts | null>;
  /**
   * Pushes state changes until the returned stop is called; `onStatus` says when the push
   * channel goes down or comes back, so the caller polls meanwhile. Null when this instance
   * cannot push (the caller polls).
   */
  watch?(handlers: WatchHandlers): (() => Promise<void>) | null;
  /**
   * Makes a guest port reachable from outside: a forward from the host (user networking) or the
   * VM's own address (a libvirt network). Null when this cloud cannot tell how to reach it.
   */
  publish?(nativeId: string, guestPort: number): Promise<{ host: string; port: number } | null>;
  /** CPU time used so far and memory, per VM (for per-VM metrics). */
  usage?(
    nativeIds: readonly string[],
  ): Promise<{ nativeId: string; cpuTimeNs: number; memoryKiB: number; vcpus: number }[]>;
  /** The VM's serial console log as a file on this machine, or null when it is not kept here. */
  consoleLog?(nativeId: string): string | null;
  /** Round trip in ms; throws a typed error when unreachable. */
  ping(): Promise<number>;
  close(): Promise<void>;
}

/** Who and where an instance connects as, for administrators to check before it is used. */
export interface ConnectionTarget {
  transport: string;
  /** Null: the transport's default user. */
  user: string | null;
  /** Null: the box itself. */
  host: string | null;
  port: number | null;
  /** The same in words: "connects over ssh as root to 10.0.0.2, port 22". */
  summary: string;
}

/** What a kind hands the registry. */
export interface ConnectorKind<Config = unknown> {
  manifest: ConnectorManifest<Config>;
  /** Makes an instance; throws a typed error for a config it will not connect with. */
  create(config: Config): Connector;
  /** Where a valid config connects; throws a typed error for one it will not connect with. */
  target?(config: Config): ConnectionTarget;
}

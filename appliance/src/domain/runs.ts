/**
 * Runs: what a deployment became. Pure types and rules — which instances count for a barrier,
 * what a run reserves, its instances — used by the orchestrator (its parameters: run-params.ts).
 */
import type { AclRule } from './access.ts';
import type { Amounts } from './capacity.ts';
import type {
  InputParameter,
  Mapping,
  NativeImages,
  OutputParameter,
  Port,
  RecipeName,
  Resources,
} from './modules.ts';
import type { AbortReason, KeepRunning, RunState, StateTimeouts } from './run-states.ts';
import type { RunNetwork } from './run-network.ts';

/** A node as the run resolved it: exact versions, merged image, placement, multiplicity. */
export interface RunNode {
  name: string;
  /** The image chain it was resolved from, child first: `/apps/web@3`. */
  image: string[];
  resources: Resources;
  nativeImages: NativeImages;
  packages: string[];
  recipes: Partial<Record<RecipeName, string>>;
  inputs: InputParameter[];
  outputs: OutputParameter[];
  ports: Port[];
  mappings: Record<string, Mapping>;
  cloudId: string;
  multiplicity: number;
  maxFailures: number;
  /**
   * The hash of what it took from its image chain (resources to ports): the store writes that
   * part by reference (the chain's module versions) and checks it against this when reading it
   * back. Null: kept whole (runs made before).
   */
  contentHash: string | null;
}

/** `removing`: scaled down, its VM being terminated. */
export type InstanceState = 'pending' | 'launching' | 'running' | 'removing' | 'failed' | 'removed';

export interface RunInstance {
  /** `node.i` */
  name: string;
  node: string;
  index: number;
  state: InstanceState;
  vmId: string | null;
  /** Hash of the agent token; a new token is issued at each launch. */
  tokenHash: string | null;
  /** States this instance has completed (barriers). */
  completed: RunState[];
  error: string | null;
}

export interface RunLogEntry {
  time: string;
  /** A user id, an instance (`web.1`) or `appliance`. */
  actor: string;
  action: string;
  detail: string;
}

/** A log entry with its number in the run's log (1 for the first entry ever logged). */
export interface NumberedEntry extends RunLogEntry {
  seq: number;
}

export interface StoredRun {
  id: string;
  owner: string;
  acl: AclRule[];
  title: string;
  /** The reference as asked and as resolved: `/apps/wordpress` → `/apps/wordpress@4`. */
  module: { asked: string; resolved: string; kind: 'image' | 'deployment' };
  nodes: RunNode[];
  instances: RunInstance[];
  /** Runtime parameters by canonical key (`web.1:port`, `run:state`). */
  params: Record<string, string>;
  /** Keys whose values are never shown. */
  secretKeys: string[];
  tags: string[];
  keepRunning: KeepRunning;
  timeouts: StateTimeouts;
  state: RunState;
  stateEnteredAt: string;
  abort: AbortReason | null;
  /** Set by terminate: the run goes to Finalizing as soon as it can and leaves no VM. */
  terminating: boolean;
  reservationId: string | null;
  /** The values the user gave (`node:input`), kept for upgrades. */
  given: Record<string, string>;
  /** An upgrade of this run under way or done: the newer run beside it. */
  upgrade: {
    to: string;
    state: 'deploying' | 'switched' | 'rolled-back';
    reason: string | null;
  } | null;
  /** The run this one upgrades. */
  upgradeOf: string | null;
  /** The box screen (a kiosk session's screen id) this run was started from; absent otherwise. */
  screenId?: string;
  /**
   * The newest log entries not yet known to be in the run's log file (the run log lives there,
   * out of this document); entry `i` is number `logged - log.length + i + 1`.
   */
  log: RunLogEntry[];
  /** How many entries the run has logged, ever. */
  logged: number;
  /** Where its guests live: a private network of its own, or user networking; absent on runs made before (user). */
  network?: RunNetwork;
  createdAt: string;
  updatedAt: string;
}

/** Instances that still count: neither failed nor removed. */
export function liveInstances(run: StoredRun): RunInstance[] {
  return run.instances.filter(
    (instance) =>
      instance.state !== 'failed' && instance.state !== 'removed' && instance.state !== 'removing',
  );
}

/** Instances that hold (or are about to hold) a VM. */
export function holdsVm(instance: RunInstance): boolean {
  return (
    instance.state === 'launching' || instance.state === 'running' || instance.state === 'removing'
  );
}

/** The resources of the instances a run keeps (not failed, removed or being removed). */
export function liveFootprint(run: StoredRun): Amounts {
  return footprint(
    run.nodes.map((node) => ({
      ...node,
      multiplicity: liveInstances(run).filter((instance) => instance.node === node.name).length,
    })),
  );
}

/** Has every live instance completed `state`? A run with no live instance never passes. */
export function barrierPassed(run: StoredRun, state: RunState): boolean {
  const live = liveInstances(run);
  return live.length > 0 && live.every((instance) => instance.completed.includes(state));
}

/** Does a node have more failed instances than it tolerates? Returns the node, or null. */
export function nodeBeyondFailures(run: StoredRun): RunNode | null {
  for (const node of run.nodes) {
    const failed = run.instances.filter(
      (instance) => instance.node === node.name && instance.state === 'failed',
    ).length;
    if (failed > node.maxFailures) return node;
  }
  return null;
}

/** The resources of the whole run, reserved before the first launch. */
export function footprint(nodes: readonly RunNode[]): Amounts {
  const total: Amounts = { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 };
  for (const node of nodes) {
    total.vms += node.multiplicity;
    total.vcpu += node.resources.vcpu * node.multiplicity;
    total.memoryMiB += node.resources.memoryMiB * node.multiplicity;
    total.diskGiB += node.resources.diskGiB * node.multiplicity;
  }
  return total;
}

/** The instances `node.1 … node.N` of every node. */
export function planInstances(nodes: readonly RunNode[]): RunInstance[] {
  return nodes.flatMap((node) =>
    Array.from({ length: node.multiplicity }, (_, i) => ({
      name: `${node.name}.${i + 1}`,
      node: node.name,
      index: i + 1,
      state: 'pending' as const,
      vmId: null,
      tokenHash: null,
      completed: [],
      error: null,
    })),
  );
}

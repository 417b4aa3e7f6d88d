import type { Access, AclRule, Role } from './access.ts';
import type { Usage } from './capacity.ts';
import type { LogLine } from './logs.ts';
import type { AbortReason, RunState } from './run-states.ts';
import type { RunLogEntry } from './runs.ts';
import type { VmRecord } from './vms.ts';

/** A cloud's reachability as everyone may see it (the Clouds page, the Dashboard's health). */
export interface CloudStatus {
  reachable: boolean;
  latencyMs: number | null;
  lastError: string | null;
  checkedAt: string | null;
}

/** What an import under way has moved so far; `totalBytes` is null when the size is not known yet. */
export interface TransferProgress {
  receivedBytes: number;
  totalBytes: number | null;
}

/** Every image event names the image and its status; the rest depends on the event. */
export interface ImageEventData {
  name: string;
  status: 'importing' | 'ready' | 'unusable' | 'failed';
}

interface UserEventData {
  username: string;
  role: Role;
  disabled: boolean;
  /** Who made the change (null for the first administrator, made by setup). */
  actor: string | null;
}

interface KioskEventData {
  pinSet: boolean;
  actor: string;
}

/** A change of a run: its state and what the change added to its log. */
interface RunChange {
  state: RunState;
  /** The log entries this change appended, oldest first: screens append them in place. */
  log: RunLogEntry[];
}

/** A Bivouac-marked domain the store has no live record of, or a domain Bivouac never made. */
export interface StrayVm {
  cloudId: string;
  nativeId: string;
  name: string;
  state: string;
  runId: string | null;
}

/**
 * Every event the appliance emits, by type, with what it carries: the one declaration emitters
 * and the screens' stream share, so a payload that changes breaks the build on both sides.
 */
export interface EventPayloads {
  'run.created': RunChange;
  /** The run moved to another state; `from` is null for a run just made. */
  'run.state': RunChange & { from: RunState | null; abort: AbortReason | null };
  /** Something of the run changed but not its state (an instance, a flag, its log). */
  'run.updated': RunChange;
  /** A runtime parameter was set (secrets masked, as the parameter list shows them). */
  'run.param': { key: string; value: string; link: boolean };
  /** The run's ACL changed (the access of the event is the union of before and after). */
  'run.shared': Record<string, never>;
  /** Deleted for good (a finished run, from the main document or the archive). */
  'run.deleted': Record<string, never>;

  /** The whole record, as the VM list shows it: screens replace theirs in place. */
  'vm.state': VmRecord;
  'vm.gone': VmRecord;
  'vm.unknown': StrayVm;

  'capacity.changed': { box: Usage };

  'module.saved': { path: string; version: number; kind: string };
  'module.shared': { path: string; acl: AclRule[] };
  'module.deleted': { path: string };

  'user.created': UserEventData;
  'user.updated': UserEventData;
  'user.deleted': UserEventData;
  'token.created': { name: string };
  'token.revoked': Record<string, never>;

  'kiosk.pin-set': KioskEventData;
  'kiosk.pin-cleared': KioskEventData;
  'kiosk.locked': KioskEventData;
  'kiosk.unlocked': KioskEventData;

  'box.power': { action: 'poweroff' | 'reboot'; by: string; at: string };
  'box.log': { line: LogLine };
  /** A host sample was taken at `timeMs` (the Dashboard reads it from the history). */
  'box.metrics': { timeMs: number };

  'image.importing': ImageEventData & TransferProgress;
  'image.progress': ImageEventData & TransferProgress & { file: string };
  'image.ready': ImageEventData & Partial<TransferProgress>;
  'image.unusable': ImageEventData & { reason: string };
  'image.failed': ImageEventData & {
    error: string;
    code: string;
    details?: Record<string, unknown>;
  };
  'image.deleted': ImageEventData;

  'cloud.added': { status: CloudStatus | null };
  'cloud.removed': { status: CloudStatus | null };
  'cloud.status': { status: CloudStatus | null };

  'app.installed': { app: string; version: string; signed: boolean };
  'app.published': { app: string; version?: string };
  'app.unpublished': { app: string };
  /** An administrator's bundle import: its source (a path or an upload's name) in every event. */
  'app.importing': { source: string };
  'app.import.progress': TransferProgress & { source: string; staged?: boolean };
  'app.import.done': {
    source: string;
    app: string;
    version: string;
    signed: boolean;
    warning: string | null;
  };
  'app.import.failed': { source: string; error: string };
  'publisher.trusted': { name: string; appIds: string[] };
  'publisher.distrusted': Record<string, never>;
  'settings.bundles': { allowUnsigned: boolean };
}

export type EventType = keyof EventPayloads;

/** Every event type, for those who read the API's description rather than this file. */
export const eventTypes = [
  'run.created',
  'run.state',
  'run.updated',
  'run.param',
  'run.shared',
  'run.deleted',
  'vm.state',
  'vm.gone',
  'vm.unknown',
  'capacity.changed',
  'module.saved',
  'module.shared',
  'module.deleted',
  'user.created',
  'user.updated',
  'user.deleted',
  'token.created',
  'token.revoked',
  'kiosk.pin-set',
  'kiosk.pin-cleared',
  'kiosk.locked',
  'kiosk.unlocked',
  'box.power',
  'box.log',
  'box.metrics',
  'image.importing',
  'image.progress',
  'image.ready',
  'image.unusable',
  'image.failed',
  'image.deleted',
  'cloud.added',
  'cloud.removed',
  'cloud.status',
  'app.installed',
  'app.published',
  'app.unpublished',
  'app.importing',
  'app.import.progress',
  'app.import.done',
  'app.import.failed',
  'publisher.trusted',
  'publisher.distrusted',
  'settings.bundles',
] as const satisfies readonly EventType[];

/** A type added to EventPayloads and not to eventTypes fails to build here. */
export const everyEventTypeListed: Exclude<EventType, (typeof eventTypes)[number]> extends never
  ? true
  : never = true;

/** What an event is about: its kind is the first part of its type (`run` for `run.state`). */
export type EventKind = EventType extends `${infer Kind}.${string}` ? Kind : never;

/** A change that clients hear about over the event stream, of one type or (by default) any. */
export type DomainEvent<K extends EventType = EventType> = {
  [T in K]: {
    /** Dotted name, resource first: `user.created`, `token.revoked`, `run.state`… */
    type: T;
    /** The resource the event is about. */
    subject: { kind: EventKind; id: string };
    /** Who receives it, with the same rule as reading the resource itself. */
    access: Access;
    data: EventPayloads[T];
  };
}[K];

/**
 * One event of type `type`, about the resource `id` of the type's kind: the form every emitter
 * builds its events with, so its payload is checked against the type's.
 */
export function domainEvent<K extends EventType>(
  type: K,
  id: string,
  access: Access,
  data: EventPayloads[K],
): DomainEvent {
  return {
    type,
    subject: { kind: type.slice(0, type.indexOf('.')) as EventKind, id },
    access,
    data,
  } as DomainEvent;
}

/** A durable event once the bus has numbered and timed it. */
export type StampedEvent<K extends EventType = EventType> = DomainEvent<K> & {
  id: number;
  time: string;
};

/**
 * An event that only matters while it is fresh (a host metrics tick, import progress): timed but
 * never numbered, stored or replayed, so a stream of them cannot push durable events out of the
 * replay window, and a client's `Last-Event-ID` always names a durable event.
 */
export type TransientEvent<K extends EventType = EventType> = DomainEvent<K> & {
  id?: never;
  time: string;
};

/** What an event stream delivers: durable events carry their id, transient ones none. */
export type DeliveredEvent<K extends EventType = EventType> = StampedEvent<K> | TransientEvent<K>;

/** An event as a client receives it: without its access rule, which stays on the server. */
export type LiveEvent<K extends EventType = EventType> = {
  [T in K]: Omit<DeliveredEvent<T>, 'access'>;
}[K];

/** Narrows an event (as emitted, stored or received) to one of `types`, with their payloads. */
export function isEventOf<E extends { type: EventType }, K extends EventType>(
  event: E,
  ...types: K[]
): event is Extract<E, { type: K }> {
  return (types as EventType[]).includes(event.type);
}

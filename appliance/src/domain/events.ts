import type { Access } from './access.ts';

/**
 * A change that clients hear about over the event stream. `access` decides who receives it,
 * with the same rule as reading the resource itself.
 */
export interface DomainEvent {
  /** Dotted name, resource first: `user.created`, `token.revoked`, `run.state`… */
  type: string;
  /** The resource the event is about. */
  subject: { kind: string; id: string };
  access: Access;
  data: Record<string, unknown>;
}

/** A durable event once the bus has numbered and timed it. */
export interface StampedEvent extends DomainEvent {
  id: number;
  time: string;
}

/**
 * An event that only matters while it is fresh (a host metrics tick, import progress): timed but
 * never numbered, stored or replayed, so a stream of them cannot push durable events out of the
 * replay window, and a client's `Last-Event-ID` always names a durable event.
 */
export interface TransientEvent extends DomainEvent {
  id?: never;
  time: string;
}

/** What an event stream delivers: durable events carry their id, transient ones none. */
export type DeliveredEvent = StampedEvent | TransientEvent;

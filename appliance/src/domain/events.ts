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

/** An event once the bus has numbered and timed it. */
export interface StampedEvent extends DomainEvent {
  id: number;
  time: string;
}

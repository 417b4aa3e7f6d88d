import { visibleToAll } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import {
  describeRefusal,
  findRefusal,
  resources,
  usage,
  type Amounts,
  type Quota,
  type Refusal,
  type Reservation,
  type Usage,
} from '../domain/capacity.ts';
import { limits } from '../domain/limits.ts';
import { isFinal } from '../domain/run-states.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';

export interface CapacityReport {
  box: Usage;
  users: { userId: string; quota: Quota; usage: Usage }[];
}

/**
 * Holds footprints against the box's capacity and users' quotas. `reserve` checks and records
 * in one synchronous step inside a store update, so concurrent reservations can never overshoot;
 * it resolves once the reservation is durable.
 */
export class Reservations {
  /** The box's capacity now (its disk is the disk formula's, read at each check). */
  private readonly box: () => Amounts;

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    box: Amounts | (() => Amounts),
    private readonly now: () => Date = () => new Date(),
  ) {
    this.box = typeof box === 'function' ? box : () => box;
  }

  all(): readonly Reservation[] {
    return this.store.data.reservations;
  }

  async reserve(owner: string, purpose: string, amounts: Amounts): Promise<Reservation> {
    const reservation = await this.store.update((document) =>
      this.reserveInside(document, owner, purpose, amounts),
    );
    this.reserved();
    return reservation;
  }

  /**
   * `reserve` as part of a caller's own durable update (a run and its reservation are one
   * commit); the caller calls `reserved()` once that update is committed.
   */
  reserveInside(
    document: MainDocument,
    owner: string,
    purpose: string,
    amounts: Amounts,
  ): Reservation {
    const refusal = findRefusal(
      this.box(),
      document.quotas[owner],
      document.reservations,
      owner,
      amounts,
    );
    if (refusal) {
      throw new BivouacError(
        refusal.scope === 'box' ? 'NO_CAPACITY' : 'QUOTA_EXCEEDED',
        describeRefusal(refusal),
        { ...refusal },
      );
    }
    const created: Reservation = {
      id: newId(),
      owner,
      purpose,
      amounts: { ...amounts },
      inUse: { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 },
      createdAt: this.now().toISOString(),
    };
    document.reservations.push(created);
    return created;
  }

  /** Tells screens a reservation was made (after the update that made it is committed). */
  reserved(): void {
    this.announce();
  }

  /**
   * Changes a reservation to `amounts`: growing is checked against the box and the owner's quota
   * like a new reservation (atomically); shrinking always succeeds.
   */
  async resize(id: string, amounts: Amounts): Promise<Reservation> {
    const resized = await this.store.update((document) => {
      const reservation = document.reservations.find((candidate) => candidate.id === id);
      if (!reservation)
        throw new BivouacError('NOT_FOUND', `No reservation ${id}.`, {
          resource: 'reservation',
          id,
        });
      const extra = {} as Amounts;
      for (const resource of resources)
        extra[resource] = Math.max(0, amounts[resource] - reservation.amounts[resource]);
      const others = document.reservations.filter((candidate) => candidate.id !== id);
      const refusal = findRefusal(
        this.box(),
        document.quotas[reservation.owner],
        [...others, reservation],
        reservation.owner,
        extra,
      );
      if (refusal)
        throw new BivouacError(
          refusal.scope === 'box' ? 'NO_CAPACITY' : 'QUOTA_EXCEEDED',
          describeRefusal(refusal),
          { ...refusal },
        );
      reservation.amounts = { ...amounts };
      for (const resource of resources)
        reservation.inUse[resource] = Math.min(reservation.inUse[resource], amounts[resource]);
      return { ...reservation };
    });
    this.announce();
    return resized;
  }

  /** Records how much of a reservation is backed by running VMs (never more than reserved). */
  async setInUse(id: string, inUse: Amounts): Promise<void> {
    await this.store.update((document) => {
      const reservation = document.reservations.find((candidate) => candidate.id === id);
      if (!reservation)
        throw new BivouacError('NOT_FOUND', `No reservation ${id}.`, {
          resource: 'reservation',
          id,
        });
      for (const resource of resources)
        reservation.inUse[resource] = Math.min(inUse[resource], reservation.amounts[resource]);
    });
    this.announce();
  }

  /** Releasing twice is harmless: the second call finds nothing and changes nothing. */
  async release(id: string): Promise<boolean> {
    const removed = await this.store.update((document) => releaseInside(document, id));
    if (removed) this.announce();
    return removed;
  }

  /**
   * Releases inside a caller's store update, so the release is durable in the same step as the
   * caller's change (a crash cannot fall between them); `released` announces it afterwards.
   */
  releaseInside(document: MainDocument, id: string): boolean {
    return releaseInside(document, id);
  }

  released(): void {
    this.announce();
  }

  async setQuota(
    userId: string,
    limits: Partial<Record<keyof Amounts | 'runs', number | undefined>>,
  ): Promise<Quota> {
    const quota: Quota = {};
    for (const resource of [...resources, 'runs'] as const) {
      const limit = limits[resource];
      if (limit !== undefined) quota[resource] = limit;
    }
    await this.store.update((document) => {
      if (!document.users.some((user) => user.id === userId)) {
        throw new BivouacError('NOT_FOUND', `No user with id ${userId}.`, {
          resource: 'user',
          id: userId,
        });
      }
      document.quotas[userId] = quota;
    });
    this.announce();
    return quota;
  }

  quotaOf(userId: string): Quota {
    return this.store.data.quotas[userId] ?? {};
  }

  /** Would `amounts` fit for `owner` right now? The refusal if not, without reserving anything. */
  check(owner: string, amounts: Amounts): Refusal | null {
    return findRefusal(
      this.box(),
      this.store.data.quotas[owner],
      this.store.data.reservations,
      owner,
      amounts,
    );
  }

  report(): CapacityReport {
    const { reservations, users, quotas } = this.store.data;
    return {
      box: usage(this.box(), reservations),
      users: users.map((user) => ({
        userId: user.id,
        quota: quotas[user.id] ?? {},
        usage: usage(
          quotas[user.id],
          reservations.filter((reservation) => reservation.owner === user.id),
        ),
      })),
    };
  }

  private announce(): void {
    this.events.append(
      domainEvent('capacity.changed', 'box', visibleToAll('system'), {
        box: usage(this.box(), this.store.data.reservations),
      }),
    );
  }
}

function releaseInside(document: MainDocument, id: string): boolean {
  const before = document.reservations.length;
  document.reservations = document.reservations.filter((reservation) => reservation.id !== id);
  return document.reservations.length < before;
}

/**
 * Refuses a new run past the owner's live runs (their quota's `runs`, else the box's default):
 * checked inside the deploy's one commit, so concurrent deploys cannot overshoot it.
 */
export function takeRunSlot(document: MainDocument, owner: string): void {
  const allowed = document.quotas[owner]?.runs ?? limits.liveRunsPerUser;
  const held = document.runs.filter((run) => run.owner === owner && !isFinal(run.state)).length;
  if (held + 1 > allowed)
    throw new BivouacError(
      'QUOTA_EXCEEDED',
      `Too many live runs: your quota allows ${allowed}, and ${held} are live (each counts one, even one that reserves nothing); terminate one first.`,
      { scope: 'user', resource: 'runs', held, asked: 1, allowed },
    );
}

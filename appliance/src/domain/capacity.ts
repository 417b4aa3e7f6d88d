/**
 * Capacity and quota, as pure arithmetic. The box has a capacity per resource; users may have
 * quotas inside it; a run reserves its whole footprint before anything launches. Whether a new
 * footprint fits is decided here, from the current reservations alone, so the caller can make
 * the check-and-reserve one synchronous step (and concurrent deploys can never overshoot).
 */

export const resources = ['vms', 'vcpu', 'memoryMiB', 'diskGiB'] as const;
export type Resource = (typeof resources)[number];
export type Amounts = Record<Resource, number>;

/**
 * A per-user limit; a missing resource means "only the box's capacity limits it". `runs` caps the
 * user's live runs (each counts one, even one that reserves nothing); missing, the box's default
 * (`limits.liveRunsPerUser`) applies.
 */
export type Quota = Partial<Amounts> & { runs?: number };

export const resourceLabels: Record<Resource, string> = {
  vms: 'VMs',
  vcpu: 'vCPUs',
  memoryMiB: 'MiB of memory',
  diskGiB: 'GiB of disk',
};

/**
 * A footprint held for one purpose (a run). `inUse` is the part whose VMs are running; the rest
 * is reserved but not launched yet.
 */
export interface Reservation {
  id: string;
  owner: string;
  purpose: string;
  amounts: Amounts;
  inUse: Amounts;
  createdAt: string;
}

/** Why a footprint does not fit: which limit, what is held, what was asked, what is allowed. */
export interface Refusal {
  scope: 'box' | 'user';
  resource: Resource;
  held: number;
  asked: number;
  allowed: number;
}

export function zero(): Amounts {
  return { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 };
}

export function add(a: Amounts, b: Amounts): Amounts {
  return {
    vms: a.vms + b.vms,
    vcpu: a.vcpu + b.vcpu,
    memoryMiB: a.memoryMiB + b.memoryMiB,
    diskGiB: a.diskGiB + b.diskGiB,
  };
}

export function subtract(a: Amounts, b: Amounts): Amounts {
  return {
    vms: a.vms - b.vms,
    vcpu: a.vcpu - b.vcpu,
    memoryMiB: a.memoryMiB - b.memoryMiB,
    diskGiB: a.diskGiB - b.diskGiB,
  };
}

export function total(
  reservations: readonly Reservation[],
  pick: (reservation: Reservation) => Amounts = (r) => r.amounts,
): Amounts {
  return reservations.reduce((sum, reservation) => add(sum, pick(reservation)), zero());
}

/**
 * The first limit `asked` would break for `owner`, box first, or null when it fits.
 */
export function findRefusal(
  box: Amounts,
  quota: Quota | undefined,
  reservations: readonly Reservation[],
  owner: string,
  asked: Amounts,
): Refusal | null {
  const boxHeld = total(reservations);
  const userHeld = total(reservations.filter((reservation) => reservation.owner === owner));
  for (const resource of resources) {
    if (boxHeld[resource] + asked[resource] > box[resource]) {
      return {
        scope: 'box',
        resource,
        held: boxHeld[resource],
        asked: asked[resource],
        allowed: box[resource],
      };
    }
  }
  for (const resource of resources) {
    const limit = quota?.[resource];
    if (limit !== undefined && userHeld[resource] + asked[resource] > limit) {
      return {
        scope: 'user',
        resource,
        held: userHeld[resource],
        asked: asked[resource],
        allowed: limit,
      };
    }
  }
  return null;
}

export function describeRefusal(refusal: Refusal): string {
  const label = resourceLabels[refusal.resource];
  const whose = refusal.scope === 'box' ? "the box's capacity" : 'your quota';
  return (
    `Not enough ${label}: ${whose} allows ${refusal.allowed}, ${refusal.held} are already held, ` +
    `and ${refusal.asked} were asked (${Math.max(0, refusal.allowed - refusal.held)} left).`
  );
}

/** Per resource: the total, what running VMs use, what is reserved but not launched, what is free. */
export interface ResourceUsage {
  total: number | null;
  used: number;
  reserved: number;
  free: number | null;
}

export type Usage = Record<Resource, ResourceUsage>;

export function usage(
  limits: Amounts | Quota | undefined,
  reservations: readonly Reservation[],
): Usage {
  const held = total(reservations);
  const used = total(reservations, (reservation) => reservation.inUse);
  const result = {} as Usage;
  for (const resource of resources) {
    const limit = limits?.[resource];
    result[resource] = {
      total: limit ?? null,
      used: used[resource],
      reserved: held[resource] - used[resource],
      free: limit === undefined ? null : Math.max(0, limit - held[resource]),
    };
  }
  return result;
}

import { privateTo } from '../domain/access.ts';
import { resources, type Reservation } from '../domain/capacity.ts';
import { domainEvent, type StrayVm } from '../domain/events.ts';
import { isLive, type VmRecord } from '../domain/vms.ts';
import { boxCloudId, type Clouds } from '../connectors/clouds.ts';
import type { VmDescription, VmEvent } from '../connectors/contract.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Reservations } from './reservations.ts';
import type { VmTracker } from './vm-tracker.ts';

export interface ReconcilerOptions {
  /** Poll interval while nobody has an event stream open and the cloud cannot push. */
  idlePollMs?: number;
  /** Poll interval while someone watches (an SSE client is connected). */
  watchedPollMs?: number;
  /** A reservation with no live VM is kept this long after it was made (its launch may be on the way). */
  reservationGraceMs?: number;
  /** Told about a VM that disappeared behind Bivouac's back (the orchestrator aborts its run). */
  onVanished?: (vm: VmRecord) => void | Promise<void>;
  /**
   * True for a VM with no record that its owner is about to record or clear: a launch under way
   * (its record is written once the cloud has made it) or one a crash cut short. Not reported.
   */
  isExpected?: (cloudId: string, nativeId: string) => boolean;
  /** True while something (a run) still holds this reservation even without live VMs. */
  isHeld?: (reservation: Reservation) => boolean;
  /**
   * Removes what ended runs left on the box besides VMs (their private networks and firewall
   * tables, after a crash); called after each pass over the box's own cloud.
   */
  sweepBox?: () => Promise<void>;
  /** Where findings go besides events: the appliance's log. */
  log?: (level: 'info' | 'warn', details: Record<string, unknown>, message: string) => void;
  now?: () => Date;
}

/** How a cloud's VM states reach the appliance right now. */
export type Tracking = 'push' | 'polling';

export type { StrayVm };

interface Follower {
  stopWatch: (() => Promise<void>) | null;
  pushing: boolean;
  timer: NodeJS.Timeout | null;
  /** Reconciles of one cloud never overlap: each waits for the previous one. */
  chain: Promise<void>;
  queued: boolean;
  unknown: StrayVm[];
  foreign: StrayVm[];
  lastError: string | null;
}

/**
 * Keeps the VM records true to the clouds: follows each cloud's pushed events (polling while a
 * cloud cannot push — faster while someone watches), and reconciles at start-up and after every
 * event. A recorded VM that vanished is marked gone; a Bivouac domain the store does not know is
 * reported, never deleted; reservations nothing holds any more are released.
 */
export class Reconciler {
  private readonly followers = new Map<string, Follower>();
  private stopped = false;
  /** When this process made the reconciler: reservations older than that have no launch on the way. */
  private readonly startedAt: number;

  constructor(
    private readonly clouds: Clouds,
    private readonly tracker: VmTracker,
    private readonly reservations: Reservations,
    private readonly events: EventLog,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.startedAt = (options.now ?? (() => new Date()))().getTime();
  }

  /** Follows every cloud and reconciles each once; resolves when that first pass is done. */
  async start(): Promise<void> {
    await this.syncClouds();
  }

  /** Starts following added clouds and stops following removed ones. */
  async syncClouds(): Promise<void> {
    if (this.stopped) return;
    const ids = new Set(this.clouds.ids());
    for (const [id] of this.followers) if (!ids.has(id)) await this.unfollow(id);
    const added = [...ids].filter((id) => !this.followers.has(id));
    for (const id of added) this.follow(id);
    await Promise.all(added.map((id) => this.reconcile(id)));
  }

  tracking(): Record<string, Tracking> {
    return Object.fromEntries(
      [...this.followers].map(([id, follower]) => [id, follower.pushing ? 'push' : 'polling']),
    );
  }

  /** Bivouac domains the store does not know, across clouds. */
  unknown(): StrayVm[] {
    return [...this.followers.values()].flatMap((follower) => follower.unknown);
  }

  /** Domains Bivouac did not make, across clouds. */
  foreign(): StrayVm[] {
    return [...this.followers.values()].flatMap((follower) => follower.foreign);
  }

  /**
   * Compares one cloud's domains with the records. Calls made while one runs are folded into a
   * single follow-up pass. An unreachable cloud changes nothing: absence is only believed from
   * an answer.
   */
  reconcile(cloudId: string): Promise<void> {
    const follower = this.followers.get(cloudId);
    if (!follower) return Promise.resolve();
    if (follower.queued) return follower.chain;
    follower.queued = true;
    follower.chain = follower.chain.then(async () => {
      follower.queued = false;
      if (this.stopped) return;
      await this.pass(cloudId, follower).catch((error: unknown) => {
        follower.lastError = (error as Error).message;
        this.options.log?.(
          'warn',
          { cloudId, error: follower.lastError },
          'cannot reconcile a cloud',
        );
      });
    });
    return follower.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.followers.keys()]) await this.unfollow(id);
  }

  private follow(cloudId: string): void {
    const follower: Follower = {
      stopWatch: null,
      pushing: false,
      timer: null,
      chain: Promise.resolve(),
      queued: false,
      unknown: [],
      foreign: [],
      lastError: null,
    };
    this.followers.set(cloudId, follower);
    const connector = this.clouds.connector(cloudId);
    follower.stopWatch =
      connector.watch?.({
        onEvent: (event) => void this.onEvent(cloudId, event),
        onStatus: (up, reason) => {
          if (follower.pushing === up) return;
          follower.pushing = up;
          this.options.log?.(
            'info',
            { cloudId, tracking: up ? 'push' : 'polling', reason },
            'VM state tracking changed',
          );
          // Whatever happened while the stream was down is found by a pass now.
          void this.reconcile(cloudId);
        },
      }) ?? null;
    this.schedulePoll(cloudId, follower);
  }

  private async unfollow(cloudId: string): Promise<void> {
    const follower = this.followers.get(cloudId);
    if (!follower) return;
    this.followers.delete(cloudId);
    if (follower.timer) clearTimeout(follower.timer);
    await follower.stopWatch?.();
    await follower.chain;
  }

  private schedulePoll(cloudId: string, follower: Follower): void {
    const watched = this.events.listenerCount > 0;
    const delay = watched
      ? (this.options.watchedPollMs ?? 3000)
      : (this.options.idlePollMs ?? 30_000);
    follower.timer = setTimeout(() => {
      if (this.followers.get(cloudId) !== follower) return;
      const done = follower.pushing ? Promise.resolve() : this.reconcile(cloudId);
      void done.finally(() => {
        if (this.followers.get(cloudId) === follower) this.schedulePoll(cloudId, follower);
      });
    }, delay);
    follower.timer.unref();
  }

  private async onEvent(cloudId: string, event: VmEvent): Promise<void> {
    const vm = await this.tracker.applyEvent(cloudId, event).catch(() => null);
    if (vm?.state === 'gone') await this.vanished(vm);
    await this.reconcile(cloudId);
  }

  private async pass(cloudId: string, follower: Follower): Promise<void> {
    const listedAt = Date.now();
    const listed = await this.clouds.connector(cloudId).list();
    const byId = new Map(listed.map((domain) => [domain.nativeId, domain]));
    for (const vm of this.tracker
      .all()
      .filter((record) => record.cloudId === cloudId && isLive(record))) {
      // A record changed since the list was asked for is newer than the list: the next pass decides.
      if (this.tracker.isBusy(vm.id) || Date.parse(vm.updatedAt) >= listedAt) continue;
      const found = byId.get(vm.nativeId);
      if (!found) {
        const gone = await this.tracker.markGone(
          vm.id,
          vm.state === 'launching' ? 'launch interrupted' : 'vanished: no longer on its cloud',
        );
        await this.vanished(gone);
      } else if (found.state !== vm.state || found.ips.join() !== vm.ips.join()) {
        await this.tracker.setState(vm.id, found.state, found.ips);
      }
    }
    const known = new Set(
      this.tracker
        .all()
        .filter((vm) => vm.cloudId === cloudId && isLive(vm))
        .map((vm) => vm.nativeId),
    );
    const strays = listed
      .filter(
        (domain) =>
          !known.has(domain.nativeId) && !this.options.isExpected?.(cloudId, domain.nativeId),
      )
      .map((domain) => stray(cloudId, domain));
    const unknown = strays.filter((domain) => domain.runId !== null);
    const before = new Set(follower.unknown.map((domain) => domain.nativeId));
    for (const domain of unknown.filter((candidate) => !before.has(candidate.nativeId))) {
      this.options.log?.(
        'warn',
        { ...domain },
        'a Bivouac VM the store does not know; left as it is',
      );
      this.events.append(
        domainEvent('vm.unknown', `${cloudId}/${domain.nativeId}`, privateTo('system'), {
          ...domain,
        }),
      );
    }
    follower.unknown = unknown;
    follower.foreign = strays.filter((domain) => domain.runId === null);
    follower.lastError = null;
    await this.settleReservations();
    if (cloudId === boxCloudId) await this.options.sweepBox?.();
  }

  private async vanished(vm: VmRecord): Promise<void> {
    this.options.log?.(
      'warn',
      { vm: vm.id, cloudId: vm.cloudId, nativeId: vm.nativeId, runId: vm.runId },
      'a VM vanished from its cloud',
    );
    await this.options.onVanished?.(vm);
  }

  /** Brings each reservation's in-use figures up to date and releases the ones nothing holds. */
  private async settleReservations(): Promise<void> {
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const grace = this.options.reservationGraceMs ?? 60_000;
    for (const reservation of this.reservations.all()) {
      const inUse = this.tracker.inUseBy(reservation.id);
      const hasVms = this.tracker
        .all()
        .some((vm) => vm.reservationId === reservation.id && isLive(vm));
      // Only a reservation this process made can have its launch on the way: one made before it
      // started (a crash between reserving and storing the run) is held by nothing at once.
      const made = Date.parse(reservation.createdAt);
      const young = made >= this.startedAt && now - made < grace;
      if (!hasVms && !young && !(this.options.isHeld?.(reservation) ?? false)) {
        await this.reservations.release(reservation.id);
        this.options.log?.(
          'info',
          { reservation: reservation.id, owner: reservation.owner, purpose: reservation.purpose },
          'released a reservation nothing holds',
        );
      } else if (
        resources.some(
          (resource) =>
            Math.min(inUse[resource], reservation.amounts[resource]) !==
            reservation.inUse[resource],
        )
      ) {
        await this.reservations.setInUse(reservation.id, inUse);
      }
    }
  }
}

function stray(cloudId: string, domain: VmDescription): StrayVm {
  return {
    cloudId,
    nativeId: domain.nativeId,
    name: domain.name,
    state: domain.state,
    runId: domain.bivouac?.runId ?? null,
  };
}

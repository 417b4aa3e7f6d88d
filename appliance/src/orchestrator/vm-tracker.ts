import { privateTo } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { holdsResources, isLive, type VmRecord, type VmState } from '../domain/vms.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Clouds } from '../connectors/clouds.ts';
import type { VmEvent, VmSpec } from '../connectors/contract.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';

/**
 * How a launch's two writes reach the store: by default each is a commit of its own; a caller
 * (the run's launch) makes each part of its own change, so a launch costs it two commits.
 */
export interface LaunchCommits {
  /** Commits `write`, which adds `vm`'s record (`launching`, before the cloud is asked). */
  recorded(vm: VmRecord, write: (document: MainDocument) => void): Promise<void>;
  /** Commits `write`, which records what the cloud said of `vm`; resolves once it is durable. */
  launched(vm: VmRecord, write: (document: MainDocument) => void): Promise<void>;
}

/**
 * The VMs Bivouac launched, as records in the store kept in step with their clouds. A record is
 * written before the cloud is asked (so a crash mid-launch leaves a trace), updated from pushed
 * events, polls and the reconciler, and marked gone — never deleted — when the VM is.
 */
export class VmTracker {
  /** Records whose launch is under way in this process; a `launching` record not here was interrupted. */
  private readonly launching = new Set<string>();
  /** Records being terminated by this process: their disappearance is expected, not a vanishing. */
  private readonly terminating = new Set<string>();
  private readonly changeListeners: ((vm: VmRecord, from: VmRecord['state']) => void)[] = [];

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly clouds: Clouds,
    private readonly now: () => Date = () => new Date(),
  ) {}

  all(): readonly VmRecord[] {
    return this.store.data.vms;
  }

  get(id: string): VmRecord {
    const vm = this.store.data.vms.find((candidate) => candidate.id === id);
    if (!vm) throw new BivouacError('NOT_FOUND', `No VM with id ${id}.`, { resource: 'vm', id });
    return vm;
  }

  findByNative(cloudId: string, nativeId: string): VmRecord | undefined {
    return this.store.data.vms.find(
      (vm) => vm.cloudId === cloudId && vm.nativeId === nativeId && isLive(vm),
    );
  }

  isLaunching(id: string): boolean {
    return this.launching.has(id);
  }

  /** Is a launch or a termination of this record under way in this process? */
  isBusy(id: string): boolean {
    return this.launching.has(id) || this.terminating.has(id);
  }

  /**
   * Records, launches, and records what the cloud says; a failed launch leaves a gone record.
   * `commits` makes the two records part of the caller's own changes.
   */
  async launch(
    cloudId: string,
    spec: VmSpec,
    reservationId: string | null,
    imageId: string | null = null,
    commits: LaunchCommits = {
      recorded: async (_vm, write) => void (await this.store.update(write)),
      launched: async (_vm, write) => void (await this.store.update(write)),
    },
  ): Promise<VmRecord> {
    const connector = this.clouds.connector(cloudId);
    const stamp = this.now().toISOString();
    const record: VmRecord = {
      id: newId(),
      cloudId,
      nativeId: spec.name,
      runId: spec.runId,
      instance: spec.instance,
      owner: spec.owner,
      reservationId,
      imageId,
      state: 'launching',
      ips: [],
      vcpu: spec.vcpu,
      memoryMiB: spec.memoryMiB,
      diskGiB: spec.diskGiB,
      createdAt: stamp,
      updatedAt: stamp,
      goneReason: null,
    };
    this.launching.add(record.id);
    await commits
      .recorded(record, (document) => {
        if (
          document.vms.some(
            (vm) => vm.cloudId === cloudId && vm.nativeId === spec.name && isLive(vm),
          )
        ) {
          throw new BivouacError(
            'VALIDATION_FAILED',
            `A VM named ${spec.name} already exists on this cloud.`,
            { fields: [{ field: 'name', message: 'must be unique per cloud' }] },
          );
        }
        document.vms.push(record);
      })
      .catch((error: unknown) => {
        this.launching.delete(record.id);
        throw error;
      });
    this.announce(record);
    try {
      const [nativeId] = await connector.launch([spec]);
      const [described] = await connector.describe([nativeId ?? spec.name]);
      const launched: { vm?: VmRecord } = {};
      await commits.launched(record, (document) => {
        launched.vm = this.updateInside(document, record.id, {
          nativeId: nativeId ?? spec.name,
          state: described?.state ?? 'unknown',
          ips: described?.ips ?? [],
        });
      });
      this.announce(launched.vm!);
      this.told(launched.vm!, 'launching');
      return launched.vm!;
    } catch (error) {
      await this.markGone(
        record.id,
        `launch failed: ${this.clouds.redact(cloudId, (error as Error).message)}`,
      );
      throw error;
    } finally {
      this.launching.delete(record.id);
    }
  }

  /** Destroys the VM and everything launch made for it; a VM already gone is left as it is. */
  async terminate(id: string): Promise<VmRecord> {
    const vm = this.get(id);
    if (!isLive(vm)) return vm;
    // A cloud whose config is refused is never contacted: its VM is let go, so its run can end and
    // the cloud be removed; whatever still runs there is the host administrator's to stop.
    if (this.clouds.isDisabled(vm.cloudId))
      return this.markGone(
        id,
        'let go without contacting its cloud, which is disabled: the VM may still run on that host',
      );
    this.terminating.add(id);
    try {
      await this.clouds.connector(vm.cloudId).terminate([vm.nativeId]);
      return await this.markGone(id, 'terminated');
    } finally {
      this.terminating.delete(id);
    }
  }

  /** A pushed lifecycle event; events about VMs Bivouac does not know are ignored here. */
  async applyEvent(cloudId: string, event: VmEvent): Promise<VmRecord | null> {
    const vm = this.findByNative(cloudId, event.nativeId);
    if (!vm || vm.state === 'launching' || this.terminating.has(vm.id)) return null; // launch() and terminate() record the outcome themselves
    if (event.state === 'gone') return this.markGone(vm.id, `vanished: ${event.event}`);
    if (vm.state === event.state) return vm;
    return this.update(vm.id, { state: event.state });
  }

  async setState(id: string, state: VmState, ips?: string[]): Promise<VmRecord> {
    const vm = this.get(id);
    if (vm.state === state && (!ips || ips.join() === vm.ips.join())) return vm;
    return this.update(id, { state, ...(ips ? { ips } : {}) });
  }

  async markGone(id: string, reason: string): Promise<VmRecord> {
    const vm = this.get(id);
    if (!isLive(vm)) return vm;
    return this.update(id, { state: 'gone', goneReason: reason });
  }

  /** Told of every committed change of a record's state, with the state it had before. */
  onStateChange(listener: (vm: VmRecord, from: VmRecord['state']) => void): void {
    this.changeListeners.push(listener);
  }

  /** Told of every VM that is gone for good (its metric history can go too). */
  onGone(listener: (vm: VmRecord) => void): void {
    this.onStateChange((vm) => {
      if (vm.state === 'gone') listener(vm);
    });
  }

  /** How many live VMs boot from an image. */
  usingImage(imageId: string): number {
    return this.store.data.vms.filter((vm) => vm.imageId === imageId && isLive(vm)).length;
  }

  /** Totals of what live VMs draw on each reservation, for `Reservations.setInUse`. */
  inUseBy(reservationId: string): {
    vms: number;
    vcpu: number;
    memoryMiB: number;
    diskGiB: number;
  } {
    const held = this.store.data.vms.filter(
      (vm) => vm.reservationId === reservationId && holdsResources(vm),
    );
    return {
      vms: held.length,
      vcpu: held.reduce((sum, vm) => sum + vm.vcpu, 0),
      memoryMiB: held.reduce((sum, vm) => sum + vm.memoryMiB, 0),
      diskGiB: held.reduce((sum, vm) => sum + vm.diskGiB, 0),
    };
  }

  private async update(id: string, change: Partial<VmRecord>): Promise<VmRecord> {
    const from = this.get(id).state;
    const updated = await this.store.update((document) => this.updateInside(document, id, change));
    this.announce(updated);
    this.told(updated, from);
    return updated;
  }

  private told(vm: VmRecord, from: VmRecord['state']): void {
    if (vm.state === from) return;
    for (const listener of this.changeListeners) listener(structuredClone(vm), from);
  }

  private updateInside(document: MainDocument, id: string, change: Partial<VmRecord>): VmRecord {
    const vm = document.vms.find((candidate) => candidate.id === id);
    if (!vm) throw new BivouacError('NOT_FOUND', `No VM with id ${id}.`, { resource: 'vm', id });
    Object.assign(vm, change, { updatedAt: this.now().toISOString() });
    return { ...vm, ips: [...vm.ips] };
  }

  /** The whole record goes with the event: the VM lists replace theirs in place. */
  private announce(vm: VmRecord): void {
    this.events.append(
      domainEvent(vm.state === 'gone' ? 'vm.gone' : 'vm.state', vm.id, privateTo(vm.owner), {
        ...vm,
        ips: [...vm.ips],
      }),
    );
  }
}

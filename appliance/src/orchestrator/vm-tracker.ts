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
 * How a launch's one write reaches the store: by default a commit of its own; a caller (the run's
 * launch) makes it part of its own change, so a launch costs it one commit.
 */
export type LaunchCommit = (vm: VmRecord, write: (document: MainDocument) => void) => Promise<void>;

/**
 * The VMs Bivouac launched, as records in the store kept in step with their clouds. A record is
 * written once the cloud has made the VM (a launch a crash cuts short leaves a VM under a name its
 * owner knows, which the owner clears before launching again), updated from pushed events, polls
 * and the reconciler, and marked gone — never deleted — when the VM is.
 */
export class VmTracker {
  /** Launches under way in this process, as `cloudId/nativeId`: the VM may exist, its record not yet. */
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

  /** Is a launch of a VM of this name under way in this process? */
  isLaunching(cloudId: string, nativeId: string): boolean {
    return this.launching.has(`${cloudId}/${nativeId}`);
  }

  /** Is a termination of this record under way in this process? */
  isBusy(id: string): boolean {
    return this.terminating.has(id);
  }

  /**
   * Launches and records the VM with what its cloud says of it, in one write (`commit` makes it
   * part of the caller's change). A failed launch records nothing; what it may have left on the
   * cloud is its caller's to clear, under the name it chose.
   */
  async launch(
    cloudId: string,
    spec: VmSpec,
    reservationId: string | null,
    imageId: string | null = null,
    commit: LaunchCommit = async (_vm, write) => void (await this.store.update(write)),
  ): Promise<VmRecord> {
    const key = `${cloudId}/${spec.name}`;
    if (this.findByNative(cloudId, spec.name) || this.launching.has(key)) {
      throw new BivouacError(
        'VALIDATION_FAILED',
        `A VM named ${spec.name} already exists on this cloud.`,
        { fields: [{ field: 'name', message: 'must be unique per cloud' }] },
      );
    }
    this.launching.add(key);
    try {
      const connector = this.clouds.connector(cloudId);
      const [nativeId = spec.name] = await connector.launch([spec]);
      const [described] = await connector.describe([nativeId]);
      const stamp = this.now().toISOString();
      const record: VmRecord = {
        id: newId(),
        cloudId,
        nativeId,
        runId: spec.runId,
        instance: spec.instance,
        owner: spec.owner,
        reservationId,
        imageId,
        state: described?.state ?? 'unknown',
        ips: described?.ips ?? [],
        vcpu: spec.vcpu,
        memoryMiB: spec.memoryMiB,
        diskGiB: spec.diskGiB,
        createdAt: stamp,
        updatedAt: stamp,
        goneReason: null,
      };
      await commit(record, (document) => {
        document.vms.push(record);
      });
      this.announce(record);
      this.told(record, 'launching');
      return structuredClone(record);
    } finally {
      this.launching.delete(key);
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

import type { Reservation } from '../domain/capacity.ts';
import { setAbort } from '../domain/run-machine.ts';
import { isFinal, type AbortReason } from '../domain/run-states.ts';
import type { VmAfterReady } from '../domain/vms.ts';
import type { RunLedger } from './run-ledger.ts';
import { instanceOf, nodeOf, vmName } from './run-lookups.ts';
import type { VmTracker } from './vm-tracker.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';

export interface RunVmWatchParts {
  store: Store<MainDocument>;
  ledger: RunLedger;
  vms: VmTracker;
  plan: (id: string) => Promise<void>;
  now: () => Date;
}

/**
 * What runs hear of their VMs from outside their own work: a Ready run's VM changing state (the
 * hook health checks build on), and what the reconciler asks and tells (a VM vanished, a VM a
 * launch will make or clear, a reservation a live run holds).
 */
export class RunVmWatch {
  private readonly afterReadyListeners = new Set<(change: VmAfterReady) => void>();

  constructor(private readonly parts: RunVmWatchParts) {
    parts.vms.onStateChange((vm, from) => {
      // A launch ending (from `launching`) is the run's own work, a scale-up's too.
      if (from === 'launching') return;
      const run = parts.ledger.runs().find((candidate) => candidate.id === vm.runId);
      if (run?.state !== 'Ready') return;
      for (const listener of this.afterReadyListeners)
        listener({ runId: vm.runId, instance: vm.instance, from, vm });
    });
  }

  /**
   * Told when a VM of a Ready run changes state on its cloud (paused, stopped, crashed, gone,
   * running again): the hook health checks and alerts build on. Changes before Ready are the
   * run's own progress and are not told here.
   */
  onVmAfterReady(listener: (change: VmAfterReady) => void): () => void {
    this.afterReadyListeners.add(listener);
    return () => this.afterReadyListeners.delete(listener);
  }

  /** A VM vanished behind the appliance's back: its instance failed; the run aborts if it was running. */
  async vmVanished(runId: string, instanceName: string, reason: string): Promise<void> {
    const run = this.parts.ledger.runs().find((candidate) => candidate.id === runId);
    if (!run || isFinal(run.state) || run.state === 'Finalizing' || run.terminating) return;
    const instance = run.instances.find((candidate) => candidate.name === instanceName);
    // Only a VM the run still counts on matters; one being removed was meant to go.
    if (!instance || (instance.state !== 'running' && instance.state !== 'launching')) return;
    // A launch a crash cut short left a record and no VM: the run's launch job redoes it (it
    // adopts or forgets what the crash left), so this is not a loss to abort the run for.
    if (instance.state === 'launching' && reason === 'launch interrupted') {
      await this.parts.plan(runId);
      return;
    }
    const abort: AbortReason = {
      source: 'reconciler',
      message: `${instanceName}'s VM vanished: ${reason}`,
      by: 'appliance',
      at: this.parts.now().toISOString(),
    };
    // One step: the abort's reason is the vanishing, not the failed instance it leaves.
    await this.parts.ledger.change(runId, 'appliance', (stored) => {
      const target = instanceOf(stored, instanceName);
      target.state = 'failed';
      target.tokenHash = null;
      target.error = reason;
      setAbort(stored, abort, this.parts.now());
    });
    await this.parts.plan(runId);
  }

  /**
   * Is this VM one a run's launch makes or clears: under way now, or cut short by a crash (its
   * instance still waits for a launch, whose job clears what it finds under the name first)?
   */
  willLaunchOrClear(cloudId: string, nativeId: string): boolean {
    if (this.parts.vms.isLaunching(cloudId, nativeId)) return true;
    const data = this.parts.store.data;
    return data.jobs.some((job) => {
      if (job.kind !== 'launch' || vmName(job.runId, job.target) !== nativeId) return false;
      const run = data.runs.find((candidate) => candidate.id === job.runId);
      const instance = run?.instances.find((candidate) => candidate.name === job.target);
      return !!run && !!instance && nodeOf(run, instance).cloudId === cloudId;
    });
  }

  /** Does a live run hold this reservation? */
  holds(reservation: Reservation): boolean {
    return this.parts.ledger
      .runs()
      .some((run) => run.reservationId === reservation.id && !isFinal(run.state));
  }
}

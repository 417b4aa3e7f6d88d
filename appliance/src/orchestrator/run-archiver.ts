import { canAccess, type Subject } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { isFinal } from '../domain/run-states.ts';
import type { StoredRun } from '../domain/runs.ts';
import { isLive, type VmRecord } from '../domain/vms.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { RunArchive } from '../store/run-archive.ts';
import type { RunLogs } from '../store/run-logs.ts';
import type { Store } from '../store/store.ts';

/**
 * A finished run stays in the main document an hour (while its people may still share it), then
 * moves to the archive, where it is still listed, searched and read.
 */
export const defaultArchiveAfterHours = 1;

/** Runs written to one archive segment at a time. */
const batchSize = 500;

export interface RunArchiverOptions {
  /** A finished run moves to the archive this long after it ended. */
  archiveAfterMs: number;
  now?: () => Date;
}

/**
 * Keeps the main document small: finished runs, with the records of their VMs, move to the
 * archive once they are older than the archive age (or at once, on demand), and finished runs can
 * be deleted for good. Lists, counts, searches and reads still find archived runs (`Runs`).
 * A run moves in two durable steps, the archive first: a crash between them leaves it in both,
 * and the next pass only drops it from the main document, so no run is lost or doubled.
 */
export class RunArchiver {
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => Date;

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly archive: RunArchive,
    private readonly logs: RunLogs,
    private readonly events: EventLog,
    private readonly options: RunArchiverOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Archives every `everyMs` from now on; the returned function stops it. */
  start(everyMs: number): () => Promise<void> {
    let pass: Promise<unknown> = Promise.resolve();
    const tick = () => {
      pass = pass.then(() => this.archiveFinished()).catch(() => undefined);
      this.timer = setTimeout(tick, everyMs);
      this.timer.unref();
    };
    this.timer = setTimeout(tick, everyMs);
    this.timer.unref();
    return async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await pass.catch(() => undefined);
    };
  }

  /**
   * Moves to the archive the finished runs that ended longer ago than the archive age, or those
   * named in `ids` whatever their age; answers how many moved.
   */
  async archiveFinished(ids?: readonly string[]): Promise<number> {
    const cutoff = this.now().getTime() - this.options.archiveAfterMs;
    const named = ids ? new Set(ids) : null;
    const data = this.store.data;
    const holds = heldRuns(data);
    const moving = data.runs.filter(
      (run) =>
        (named ? named.has(run.id) : Date.parse(run.stateEnteredAt) <= cutoff) &&
        isFinal(run.state) &&
        !holds.has(run.id),
    );
    if (moving.length === 0) return 0;
    const vmsOf = new Map<string, VmRecord[]>();
    for (const vm of data.vms) vmsOf.set(vm.runId, [...(vmsOf.get(vm.runId) ?? []), vm]);
    const archivedAt = this.now().toISOString();
    // A segment per batch, the event loop free between them (a box upgraded with years of runs
    // in its main document moves them all at its first start); then one change of the main
    // document drops every run archived.
    for (let from = 0; from < moving.length; from += batchSize) {
      await this.archive.add(
        moving.slice(from, from + batchSize).map((run) => ({
          run,
          vms: vmsOf.get(run.id) ?? [],
          archivedAt,
        })),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
    const moved = new Set(moving.map((run) => run.id).filter((id) => this.archive.has(id)));
    await this.store.update((document) => {
      document.runs = document.runs.filter((run) => !moved.has(run.id));
      document.vms = document.vms.filter((vm) => !moved.has(vm.runId));
    });
    return moved.size;
  }

  /** Archives one finished run now (needs manage on it). */
  async archiveOne(subject: Subject, id: string): Promise<void> {
    const run = this.store.data.runs.find((candidate) => candidate.id === id);
    if (!run) {
      if (this.archive.has(id) && this.mayView(subject, id)) return;
      throw notFound(id);
    }
    this.check(subject, run);
    if (!this.archivable(this.store.data, run)) throw busy(run, 'archive');
    await this.archiveFinished([id]);
  }

  /** Deletes a finished run for good, from the main document or the archive (needs manage). */
  async delete(subject: Subject, id: string): Promise<void> {
    const run = this.store.data.runs.find((candidate) => candidate.id === id);
    const summary = run ?? this.archive.summary(id);
    if (!summary || !canAccess(subject, summary, 'view')) throw notFound(id);
    this.check(subject, summary);
    if (run) {
      if (!this.archivable(this.store.data, run)) throw busy(run, 'delete');
      await this.store.update((document) => {
        document.runs = document.runs.filter((candidate) => candidate.id !== id);
        document.vms = document.vms.filter((vm) => vm.runId !== id);
      });
    }
    // A run a crash left in both places goes from both.
    await this.archive.remove([id]);
    await this.logs.remove([id]);
    this.events.append(domainEvent('run.deleted', id, summary, {}));
  }

  /** Deletes archived runs that ended before `before` (administrators); answers how many went. */
  async purge(subject: Subject, before: Date): Promise<number> {
    if (subject.role !== 'admin')
      throw new BivouacError('FORBIDDEN', 'Only administrators purge the archive.', {
        action: 'purge',
      });
    const old = this.archive
      .summaries()
      .filter((summary) => Date.parse(summary.stateEnteredAt) < before.getTime());
    const gone = new Set(await this.archive.remove(old.map((summary) => summary.id)));
    await this.logs.remove([...gone]);
    for (const summary of old.filter((candidate) => gone.has(candidate.id)))
      this.events.append(domainEvent('run.deleted', summary.id, summary, {}));
    return gone.size;
  }

  /** Finished, and nothing holds it: no job, no live VM, no reservation, no upgrade under way. */
  private archivable(data: MainDocument, run: StoredRun): boolean {
    return isFinal(run.state) && !heldRuns(data).has(run.id);
  }

  private check(subject: Subject, run: Pick<StoredRun, 'id' | 'owner' | 'acl' | 'state'>): void {
    if (!canAccess(subject, run, 'manage'))
      throw new BivouacError('FORBIDDEN', `You may not manage run ${run.id}.`, {
        resource: 'run',
        id: run.id,
        action: 'manage',
      });
    if (!isFinal(run.state))
      throw new BivouacError(
        'WRONG_STATE',
        `Run ${run.id} is ${run.state}: terminate it first; only finished runs are archived or deleted.`,
        { id: run.id, state: run.state },
      );
  }

  private mayView(subject: Subject, id: string): boolean {
    const summary = this.archive.summary(id);
    return !!summary && canAccess(subject, summary, 'view');
  }
}

/**
 * The runs something still holds, in one pass over each collection: a job, a live VM, a
 * reservation, an upgrade under way from it or to it.
 */
function heldRuns(data: MainDocument): Set<string> {
  const held = new Set<string>();
  for (const job of data.jobs) held.add(job.runId);
  for (const vm of data.vms) if (isLive(vm) || vm.state === 'launching') held.add(vm.runId);
  const reserved = new Set(data.reservations.map((reservation) => reservation.id));
  for (const run of data.runs) {
    if (run.reservationId && reserved.has(run.reservationId)) held.add(run.id);
    if (run.upgrade?.state === 'deploying') held.add(run.id);
    if (run.upgradeOf && !isFinal(run.state)) held.add(run.upgradeOf);
  }
  return held;
}

function busy(run: StoredRun, action: string): BivouacError {
  return new BivouacError(
    'WRONG_STATE',
    `Run ${run.id} still has work under way (a job, a VM, a reservation or an upgrade): ${action} it once that is done.`,
    { id: run.id, state: run.state },
  );
}

function notFound(id: string): BivouacError {
  return new BivouacError('NOT_FOUND', `No run ${id}.`, { resource: 'run', id });
}

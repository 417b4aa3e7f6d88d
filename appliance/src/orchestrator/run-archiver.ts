import { canAccess, type Subject } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { isFinal } from '../domain/run-states.ts';
import type { StoredRun } from '../domain/runs.ts';
import { isLive } from '../domain/vms.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { ArchivedRun, RunArchive } from '../store/run-archive.ts';
import type { Store } from '../store/store.ts';

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
    private readonly events: EventLog,
    private readonly options: RunArchiverOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Archives now, then every `everyMs`; the returned function stops it. */
  start(everyMs: number): () => Promise<void> {
    let pass: Promise<unknown> = this.archiveFinished();
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
    const moving = data.runs.filter(
      (run) =>
        (named ? named.has(run.id) : Date.parse(run.stateEnteredAt) <= cutoff) &&
        this.archivable(data, run),
    );
    if (moving.length === 0) return 0;
    const archivedAt = this.now().toISOString();
    const records: ArchivedRun[] = moving.map((run) => ({
      run: structuredClone(run),
      vms: structuredClone(data.vms.filter((vm) => vm.runId === run.id)),
      archivedAt,
    }));
    await this.archive.add(records);
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
    for (const summary of old.filter((candidate) => gone.has(candidate.id)))
      this.events.append(domainEvent('run.deleted', summary.id, summary, {}));
    return gone.size;
  }

  /** Finished, and nothing holds it: no job, no live VM, no reservation, no upgrade under way. */
  private archivable(data: MainDocument, run: StoredRun): boolean {
    return (
      isFinal(run.state) &&
      !data.jobs.some((job) => job.runId === run.id) &&
      !data.vms.some((vm) => vm.runId === run.id && (isLive(vm) || vm.state === 'launching')) &&
      !data.reservations.some((reservation) => reservation.id === run.reservationId) &&
      run.upgrade?.state !== 'deploying' &&
      !data.runs.some((other) => other.upgradeOf === run.id && !isFinal(other.state))
    );
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

import { canAccess, type Action, type Subject } from '../domain/access.ts';
import { numberedLog, runLogLimit, shownLog } from '../domain/run-machine.ts';
import { runStates, type RunState } from '../domain/run-states.ts';
import type { StoredRun } from '../domain/runs.ts';
import { visibleParams } from '../domain/run-params.ts';
import type { VmRecord } from '../domain/vms.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { RunArchive } from '../store/run-archive.ts';
import { resolvedRun } from '../store/run-content.ts';
import type { RunLogs } from '../store/run-logs.ts';
import type { Store } from '../store/store.ts';

/** A run as lists show it: its summary, from the main document or the archive. */
export type ListedRun = Pick<
  StoredRun,
  | 'id'
  | 'owner'
  | 'acl'
  | 'title'
  | 'module'
  | 'state'
  | 'stateEnteredAt'
  | 'abort'
  | 'terminating'
  | 'tags'
  | 'createdAt'
  | 'updatedAt'
> & { archived: boolean };

export interface RunFilter {
  state?: RunState | undefined;
  owner?: string | undefined;
  module?: string | undefined;
  tag?: string | undefined;
  text?: string | undefined;
  limit: number;
  offset: number;
}

/**
 * The read side of runs: one run, lists, counts, parameters and logs, over the main document and
 * the archive together (archived runs are listed from their summaries in memory and read from
 * their segment), each as far as the subject may view it.
 */
export class RunQueries {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly archive: RunArchive,
    private readonly logs: RunLogs,
  ) {}

  /**
   * A run of the main document `subject` may act on. An archived run is refused with WRONG_STATE
   * (it is read with `view`, and only deleted); one `subject` may not view is NOT_FOUND.
   */
  get(subject: Subject, id: string, action: Action = 'view'): StoredRun {
    const run = this.store.data.runs.find((candidate) => candidate.id === id);
    const archived = run ? undefined : this.archive.summary(id);
    if (archived && canAccess(subject, archived, 'view'))
      throw new BivouacError(
        'WRONG_STATE',
        `Run ${id} is archived: it can be read and deleted, not changed.`,
        { id, state: archived.state, archived: true },
      );
    if (!run || !canAccess(subject, access(run), 'view'))
      throw new BivouacError('NOT_FOUND', `No run ${id}.`, { resource: 'run', id });
    if (!canAccess(subject, access(run), action))
      throw new BivouacError('FORBIDDEN', `You may not ${action} run ${id}.`, {
        resource: 'run',
        id,
        action,
      });
    return run;
  }

  /**
   * A run `subject` may view, whole, from the main document or the archive (read from its
   * segment); `archived` says which.
   */
  async view(subject: Subject, id: string): Promise<StoredRun & { archived: boolean }> {
    const run = this.store.data.runs.find((candidate) => candidate.id === id);
    if (run) return { ...this.get(subject, id), archived: false };
    const summary = this.archive.summary(id);
    const archived =
      summary && canAccess(subject, summary, 'view') ? await this.archive.read(id) : undefined;
    if (!archived) throw new BivouacError('NOT_FOUND', `No run ${id}.`, { resource: 'run', id });
    return { ...resolvedRun(archived.run, this.store.data.modules), archived: true };
  }

  /** The records of an archived run's VMs (all gone), as they were when it was archived. */
  async archivedVms(runId: string): Promise<VmRecord[]> {
    // A run a crash left in both places still has its records in the main document.
    if (!this.archive.has(runId) || this.store.data.runs.some((run) => run.id === runId)) return [];
    return (await this.archive.read(runId))?.vms ?? [];
  }

  /**
   * Runs `subject` may view, newest first, from the main document and the archive together (the
   * archive's summaries are in memory: no run is read from disk for a list).
   */
  list(subject: Subject, filter: RunFilter): { runs: ListedRun[]; total: number } {
    const text = filter.text?.toLowerCase();
    const matches = (run: Omit<ListedRun, 'archived'>) =>
      canAccess(subject, run, 'view') &&
      (!filter.state || run.state === filter.state) &&
      (!filter.owner || run.owner === filter.owner) &&
      (!filter.module ||
        run.module.resolved.startsWith(`${filter.module}@`) ||
        run.module.resolved === filter.module) &&
      (!filter.tag || run.tags.includes(filter.tag)) &&
      (!text ||
        run.title.toLowerCase().includes(text) ||
        run.module.resolved.includes(text) ||
        run.id === filter.text);
    const inMain = new Set<string>();
    const live: ListedRun[] = [];
    for (let i = this.store.data.runs.length - 1; i >= 0; i -= 1) {
      const run = this.store.data.runs[i]!;
      inMain.add(run.id);
      if (matches(run)) live.push({ ...run, archived: false });
    }
    // Only the page's runs are copied: a list over thousands of archived runs allocates little.
    const archived = this.archive
      .summaries()
      .filter((summary) => !inMain.has(summary.id) && matches(summary));
    const total = live.length + archived.length;
    // Both are newest first: merge them only as far as the page asked for.
    const page: ListedRun[] = [];
    let a = 0;
    let b = 0;
    while (page.length < filter.offset + filter.limit && (a < live.length || b < archived.length)) {
      page.push(
        b >= archived.length || (a < live.length && live[a]!.createdAt >= archived[b]!.createdAt)
          ? live[a++]!
          : { ...archived[b++]!, archived: true },
      );
    }
    return { runs: page.slice(filter.offset), total };
  }

  /**
   * How many runs `subject` may view are in each state, in one pass: what the dashboard shows,
   * without a list request per state.
   */
  counts(subject: Subject): Record<RunState, number> {
    const counts = Object.fromEntries(runStates.map((state) => [state, 0])) as Record<
      RunState,
      number
    >;
    const inMain = new Set<string>();
    for (const run of this.store.data.runs) {
      inMain.add(run.id);
      if (canAccess(subject, access(run), 'view')) counts[run.state] += 1;
    }
    for (const summary of this.archive.summaries())
      if (!inMain.has(summary.id) && canAccess(subject, summary, 'view'))
        counts[summary.state] += 1;
    return counts;
  }

  /** Parameters as shown to people: secrets masked. */
  async params(subject: Subject, id: string): Promise<Record<string, string>> {
    return visibleParams(await this.view(subject, id));
  }

  async log(subject: Subject, id: string): Promise<StoredRun['log']> {
    const run = await this.view(subject, id);
    // The run's file, then what the run still holds that the file does not.
    const filed = await this.logs.read(id, runLogLimit);
    const through = filed.at(-1)?.seq ?? 0;
    const held = numberedLog(run).filter((entry) => entry.seq > through);
    const entries = [...filed, ...held].slice(-runLogLimit).map(({ seq: _seq, ...entry }) => entry);
    return shownLog(run, entries);
  }
}

function access(run: StoredRun) {
  return { owner: run.owner, acl: run.acl };
}

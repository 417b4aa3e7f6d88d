import { domainEvent, type EventPayloads } from '../domain/events.ts';
import { advance, dropDurableEntries, numberedLog, shownLog } from '../domain/run-machine.ts';
import { isFinal, type RunState } from '../domain/run-states.ts';
import type { RunLogEntry, StoredRun } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { RunLogs } from '../store/run-logs.ts';
import type { Store } from '../store/store.ts';
import type { Reservations } from './reservations.ts';

/** A committed change of a run, as its listeners are told it. */
export interface RunChanged {
  /** The state before the change; for a run just made, the state it was made in. */
  before: RunState;
  /** The run as committed (a copy). */
  run: StoredRun;
  /** When the change began (performance.now()), for the waits and timings it ends. */
  started: number;
  /** The log entries it added, as people see them. */
  appended: RunLogEntry[];
}

/** Told of every committed change of a run, in the order listeners were registered. */
export type RunListener = (change: RunChanged) => void | Promise<void>;

/**
 * The one durable way to change a run. `change` applies a mutation (and what else belongs to the
 * same step), moves the state machine as far as it goes, gives an ended run's reservation back,
 * and commits it all in one durable update; then it tells the registered listeners (the events
 * screens apply, agent tokens, deadlines, waits, upgrades, networks), none of which it knows.
 */
export class RunLedger {
  private readonly listeners: RunListener[] = [];

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly reservations: Reservations,
    private readonly logs: RunLogs,
    private readonly now: () => Date,
  ) {
    // The entries a change logged go to the run's log file; the next change of the run drops
    // them from the main document once the file holds them. Until then (or when the file cannot
    // be written: a full disk) they stay in the document, which reads merge with the file.
    this.onChange(({ run }) => {
      if (run.log.length > 0)
        void this.logs.append(run.id, numberedLog(run)).catch(() => undefined);
    });
    // Screens hear of every change first: a new state with its log entries, or the entries alone.
    this.onChange(({ before, run, appended }) => {
      if (run.state !== before)
        this.announce(run, 'run.state', {
          state: run.state,
          from: before,
          abort: run.abort,
          log: appended,
        });
      else this.announce(run, 'run.updated', { state: run.state, log: appended });
    });
  }

  onChange(listener: RunListener): void {
    this.listeners.push(listener);
  }

  /** The stored runs (read-only: change one through `change`). */
  runs(): readonly StoredRun[] {
    return this.store.data.runs;
  }

  /** The stored run, or NOT_FOUND. */
  runOf(id: string): StoredRun {
    const run = this.store.data.runs.find((candidate) => candidate.id === id);
    if (!run) throw new BivouacError('NOT_FOUND', `No run ${id}.`, { resource: 'run', id });
    return run;
  }

  /**
   * Changes a run in one durable update: `mutate` it (and, with `alsoInside`, what else belongs
   * to the same step: a VM's record, the end of a job), advance it, commit, then tell.
   */
  async change(
    id: string,
    actor: string,
    mutate: (run: StoredRun) => void,
    alsoInside?: (document: MainDocument) => void,
  ): Promise<void> {
    const started = performance.now();
    let before: RunState | null = null;
    let released = false;
    let appended: RunLogEntry[] = [];
    const after = await this.store.update((document) => {
      const run = document.runs.find((candidate) => candidate.id === id);
      if (!run) throw new BivouacError('NOT_FOUND', `No run ${id}.`, { resource: 'run', id });
      before = run.state;
      dropDurableEntries(run, this.logs.durableThrough(id));
      const loggedBefore = run.logged;
      mutate(run);
      alsoInside?.(document);
      advance(run, actor, this.now());
      run.updatedAt = this.now().toISOString();
      // A run that ends gives its reservation back in the same durable step.
      if (run.state !== before && isFinal(run.state) && run.reservationId)
        released = this.reservations.releaseInside(document, run.reservationId);
      // What this change logged: its newest entries (the document keeps at most runLogLimit).
      appended = shownLog(
        run,
        run.log.slice(Math.max(0, run.log.length - (run.logged - loggedBefore))),
      );
      return structuredClone(run);
    });
    if (released) this.reservations.released();
    await this.tell({ before: before!, run: after, started, appended });
  }

  /**
   * Puts every run's entries still held in the main document into its log file, then drops them
   * from the document in one commit (at start, after a crash or a full disk left some there).
   */
  async settleLogs(): Promise<void> {
    const holding = this.store.data.runs.filter((run) => run.log.length > 0);
    for (const run of holding)
      await this.logs.append(run.id, numberedLog(run)).catch(() => undefined);
    if (!holding.some((run) => this.logs.durableThrough(run.id) > 0)) return;
    await this.store.update((document) => {
      for (const run of document.runs) dropDurableEntries(run, this.logs.durableThrough(run.id));
    });
  }

  /** Tells every listener of a committed change (`change` does; so does a run's making). */
  async tell(change: RunChanged): Promise<void> {
    for (const listener of this.listeners) await listener(change);
  }

  announce<K extends 'run.created' | 'run.state' | 'run.updated' | 'run.param'>(
    run: StoredRun,
    type: K,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, run.id, { owner: run.owner, acl: run.acl }, data));
  }
}

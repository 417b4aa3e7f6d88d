/**
 * The run state machine's moves, as pure functions on a stored run: where a run goes next from
 * its instances and flags (barriers passed, an abort, terminate, Finalizing with no VM left), the
 * move itself with its log entry, and the first abort. The orchestrator applies them inside the
 * one durable change of a run; they do no I/O and read the time only from `now`.
 */
import {
  canTransition,
  firstAbort,
  isBarrier,
  isFinal,
  keepsRunning,
  nextForward,
  type AbortReason,
  type RunState,
} from './run-states.ts';
import {
  barrierPassed,
  holdsVm,
  nodeBeyondFailures,
  type NumberedEntry,
  type RunLogEntry,
  type StoredRun,
} from './runs.ts';
import { redactSecrets } from './run-params.ts';

/**
 * Entries a run's log answers with, newest kept; also the most entries the main document holds
 * for a run whose log file cannot be written (older ones go first).
 */
export const runLogLimit = 1000;

/** Moves the run as far as its instances and flags allow. */
export function advance(run: StoredRun, actor: string, now: Date): void {
  for (let step = 0; step < 10; step += 1) {
    const next = nextState(run, now);
    if (!next) return;
    transition(run, next, actor, now);
  }
}

/**
 * Where the run goes next, or null where it is. A node with more failed instances than it
 * tolerates aborts the run first (recorded on it).
 */
export function nextState(run: StoredRun, now: Date): RunState | null {
  if (isFinal(run.state)) return null;
  const failing = nodeBeyondFailures(run);
  if (failing && !run.terminating) {
    const cause = run.instances.findLast(
      (instance) => instance.node === failing.name && instance.state === 'failed' && instance.error,
    );
    const message = `node ${failing.name} has more failed instances than its maxFailures (${failing.maxFailures})${cause ? `; ${cause.name}: ${cause.error}` : ''}`;
    setAbort(run, { source: 'launch', message, by: 'appliance', at: now.toISOString() }, now);
  }
  if (run.state === 'Finalizing') {
    const left = run.instances.some(holdsVm);
    return left ? null : run.abort ? 'Aborted' : 'Done';
  }
  if (run.terminating) {
    const launched = run.instances.some((instance) => instance.state !== 'pending');
    return run.state === 'Initializing' && !launched ? 'Cancelled' : 'Finalizing';
  }
  if (run.abort) return keepsRunning(run.keepRunning, 'error') ? 'Aborted' : 'Finalizing';
  if (run.state === 'Initializing') return null;
  if (run.state === 'Ready')
    return barrierPassed(run, 'Ready') && !keepsRunning(run.keepRunning, 'success')
      ? 'Finalizing'
      : null;
  return isBarrier(run.state) && barrierPassed(run, run.state) ? nextForward(run.state) : null;
}

/** Moves the run to `to`, logging it; a move the machine does not allow is a bug. */
export function transition(run: StoredRun, to: RunState, actor: string, now: Date): void {
  if (!canTransition(run.state, to))
    throw new Error(`bug: run ${run.id} cannot go from ${run.state} to ${to}`);
  log(
    run,
    actor,
    'state',
    `${run.state} → ${to}${to === 'Aborted' && run.abort ? ` (${run.abort.message})` : ''}`,
    now,
  );
  run.state = to;
  run.stateEnteredAt = now.toISOString();
  run.params['run:state'] = to;
}

/** Records the first abort of a live run; later ones change nothing. */
export function setAbort(run: StoredRun, given: AbortReason, now: Date): void {
  if (isFinal(run.state) || run.abort) return;
  const reason = { ...given, message: redactSecrets(run, given.message) };
  run.abort = firstAbort(run.abort, reason);
  run.params['run:abort'] = reason.message;
  log(run, reason.by, 'abort', `${reason.source}: ${reason.message}`, now);
}

/** Appends to the run's log; recipe output and reasons pass here, so no secret value is kept. */
export function log(
  run: StoredRun,
  actor: string,
  action: string,
  detail: string,
  now: Date,
): void {
  run.log.push({
    time: now.toISOString(),
    actor,
    action,
    detail: redactSecrets(run, detail).slice(0, 4096),
  });
  run.logged += 1;
  if (run.log.length > runLogLimit) run.log.splice(0, run.log.length - runLogLimit);
}

/** The entries the run still holds in the main document, with their numbers in its log. */
export function numberedLog(run: StoredRun): NumberedEntry[] {
  const first = run.logged - run.log.length + 1;
  return run.log.map((entry, index) => ({ ...entry, seq: first + index }));
}

/** Drops the entries the run's log file is known to hold (numbers up to `durableThrough`). */
export function dropDurableEntries(run: StoredRun, durableThrough: number): void {
  const first = run.logged - run.log.length + 1;
  const drop = Math.min(run.log.length, Math.max(0, durableThrough - first + 1));
  if (drop > 0) run.log.splice(0, drop);
}

/** Log entries of `run` as people see them (in its log and its events): secret values masked. */
export function shownLog(run: StoredRun, entries: readonly RunLogEntry[]): RunLogEntry[] {
  return entries.map((entry) => ({ ...entry, detail: redactSecrets(run, entry.detail) }));
}

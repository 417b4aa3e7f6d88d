import {
  forwardPath,
  isFinal,
  runStates,
  type RunState,
} from '../../../../appliance/src/domain/run-states.ts';

/** One step of a run's state timeline. */
export interface TimelineStep {
  state: RunState;
  /** done: passed; current: the run is in it; upcoming: still ahead; skipped: the run ended before it. */
  status: 'done' | 'current' | 'upcoming' | 'skipped';
  /** When the run entered it, if it did. */
  enteredAt: string | null;
}

const stateChange = /^(\w+) → (\w+)/;

function isRunState(value: string | undefined): value is RunState {
  return (runStates as readonly string[]).includes(value ?? '');
}

/**
 * The run's path through its states, from its log: the normal path in order, with the time each
 * state was entered; a run that ended in Aborted or Cancelled shows that end and the steps it
 * never reached as skipped.
 */
export function runTimeline(
  run: { state: RunState; createdAt: string },
  log: readonly { time: string; action: string; detail: string }[],
): TimelineStep[] {
  const entered = new Map<RunState, string>([['Initializing', run.createdAt]]);
  for (const entry of log) {
    if (entry.action !== 'state') continue;
    const to = stateChange.exec(entry.detail)?.[2];
    if (isRunState(to)) entered.set(to, entry.time);
  }
  const offPath = !forwardPath.includes(run.state);
  const reached = offPath
    ? Math.max(-1, ...forwardPath.map((state, index) => (entered.has(state) ? index : -1)))
    : forwardPath.indexOf(run.state);
  const steps: TimelineStep[] = forwardPath.map((state, index) => {
    let status: TimelineStep['status'];
    if (index < reached || (offPath && index === reached)) status = 'done';
    else if (index === reached) status = run.state === 'Done' ? 'done' : 'current';
    else status = offPath || isFinal(run.state) ? 'skipped' : 'upcoming';
    return { state, status, enteredAt: entered.get(state) ?? null };
  });
  if (offPath)
    steps.push({ state: run.state, status: 'current', enteredAt: entered.get(run.state) ?? null });
  return steps;
}

import { isFinal, type RunState } from '../domain/run-states.ts';
import { call, CliError, followEvents, type Target } from './http.ts';
import type { Run } from './output.ts';

/**
 * Waits, on the box's event stream, until the run is in one of `states` (or has ended); answers
 * the run as it then is.
 */
export async function waitFor(
  target: Target,
  id: string,
  states: readonly RunState[],
  timeoutSeconds: number,
): Promise<Run> {
  const arrived = (state: RunState) => states.includes(state) || isFinal(state);
  // The run as the look once the stream was open found it: when that ended the wait, it is the answer.
  let looked: Run | null = null;
  const seen = await followEvents(
    target,
    (event) =>
      event.subject.kind === 'run' &&
      event.subject.id === id &&
      event.type === 'run.state' &&
      arrived(event.data.state as RunState),
    async () => {
      looked = await call(target, 'getRun', { params: { id } });
      return arrived(looked.state);
    },
    timeoutSeconds * 1000,
  );
  const settled = looked as Run | null;
  const run =
    seen && settled && arrived(settled.state)
      ? settled
      : await call(target, 'getRun', { params: { id } });
  if (!seen)
    throw new CliError(
      'TIMEOUT',
      `Run ${id} is still ${run.state} after ${timeoutSeconds} s; it goes on without the CLI (see \`bivouac run ${id}\`).`,
      { state: run.state },
    );
  return run;
}

/**
 * The run as a wait for Ready left it: anything but Ready, or Done after it, is a failure the exit
 * code tells. A run terminated before it was Ready ends Done as well, so its log says which.
 */
export async function ready(target: Target, run: Run): Promise<Run> {
  if (run.abort)
    throw new CliError('RUN_ABORTED', `Run ${run.id} aborted: ${run.abort.message}.`, {
      state: run.state,
    });
  const wasReady =
    run.state === 'Ready' ||
    (run.state === 'Done' &&
      (await call(target, 'runLog', { params: { id: run.id } })).some(
        (entry) => entry.action === 'state' && entry.detail.endsWith('→ Ready'),
      ));
  if (!wasReady)
    throw new CliError('RUN_ENDED', `Run ${run.id} ended ${run.state} without being Ready.`, {
      state: run.state,
    });
  return run;
}

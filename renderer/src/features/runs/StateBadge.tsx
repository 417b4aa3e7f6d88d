import type { RunState } from '../../../../appliance/src/domain/run-states.ts';
import './runs.css';

const tone: Record<RunState, 'busy' | 'good' | 'bad' | 'done'> = {
  Initializing: 'busy',
  Provisioning: 'busy',
  Executing: 'busy',
  SendingReports: 'busy',
  Ready: 'good',
  Finalizing: 'busy',
  Done: 'done',
  Aborted: 'bad',
  Cancelled: 'done',
};

/** A run's state as a label whose colour says busy, good, bad or over; the word is always there. */
export function StateBadge({
  state,
  terminating = false,
}: {
  state: RunState;
  terminating?: boolean;
}) {
  return (
    <span className={`badge state-${tone[state]}`} data-state={state}>
      {state}
      {terminating && state !== 'Done' && state !== 'Aborted' && state !== 'Cancelled'
        ? ' · terminating'
        : ''}
    </span>
  );
}

import { Link } from 'react-router';
import { runStates } from '../../../../appliance/src/domain/run-states.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { StateBadge } from '../runs/StateBadge.tsx';
import { useDashboard } from './dashboard-store.ts';

/**
 * How many runs are in each state (one answer from the box, asked again on run events); each
 * count opens the Runs list filtered by that state.
 */
export function RunsByState() {
  const counts = useDashboard((state) => state.runCounts);
  const load = useDashboard((state) => state.loadRunCounts);
  useLiveLoad(load, (event) => event.subject.kind === 'run' && event.type !== 'run.param');
  const value = counts.value?.byState;
  const total = counts.value?.total ?? 0;
  const isOwnOnly = counts.value?.scope === 'viewable';
  return (
    <section className="panel dashboard-runs" aria-labelledby="runs-by-state-title">
      <h2 id="runs-by-state-title">Runs by state</h2>
      <ErrorText error={counts.error} />
      {!value ? (
        !counts.error && <p role="status">Loading…</p>
      ) : (
        <>
          <ul className="state-counts" aria-describedby="runs-total">
            {runStates.map((state) => (
              <li key={state}>
                <Link
                  to={`/runs?state=${state}`}
                  className={value[state] === 0 ? 'state-count none' : 'state-count'}
                  aria-label={`${state}: ${value[state]} ${value[state] === 1 ? 'run' : 'runs'}`}
                  data-state={state}
                >
                  <span className="count">{value[state]}</span>
                  <StateBadge state={state} />
                </Link>
              </li>
            ))}
          </ul>
          <p id="runs-total" className="dashboard-note">
            {isOwnOnly && 'Counting only your runs and those shared with you. '}
            {total === 0 ? 'No runs yet.' : `${total} ${total === 1 ? 'run' : 'runs'} in all.`}{' '}
            <Link to="/runs">All runs</Link>
          </p>
        </>
      )}
    </section>
  );
}

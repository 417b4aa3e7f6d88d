import { Link } from 'react-router';
import { CloudHealthBadge } from '../../ui/CloudHealthBadge.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { useDashboard } from './dashboard-store.ts';

/** Each cloud's health as its last check found it: reachable, latency, last error. */
export function CloudHealth() {
  const clouds = useDashboard((state) => state.clouds);
  const load = useDashboard((state) => state.loadClouds);
  useLiveLoad(load, (event) => event.subject.kind === 'cloud');
  return (
    <section className="panel dashboard-clouds" aria-labelledby="cloud-health-title">
      <h2 id="cloud-health-title">Cloud health</h2>
      <ErrorText error={clouds.error} />
      {!clouds.value ? (
        !clouds.error && <p role="status">Loading…</p>
      ) : (
        <div className="table-scroll">
          <table aria-labelledby="cloud-health-title">
            <thead>
              <tr>
                <th scope="col">Cloud</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {clouds.value.map((cloud) => (
                <tr key={cloud.id}>
                  <th scope="row">
                    {cloud.name} <small className="dashboard-note">{cloud.kind}</small>
                  </th>
                  <td>
                    <CloudHealthBadge status={cloud.status} />
                  </td>
                  <td>{cloud.status.latencyMs === null ? '—' : `${cloud.status.latencyMs} ms`}</td>
                  <td className={cloud.status.lastError ? 'cloud-error' : undefined}>
                    {cloud.status.lastError ?? 'none'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="dashboard-note">
        <Link to="/clouds">Clouds</Link>: add, test and remove clouds.
      </p>
    </section>
  );
}

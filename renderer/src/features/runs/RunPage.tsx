import { Link, useParams } from 'react-router';
import { canAccess } from '../../../../appliance/src/domain/access.ts';
import { callSafe } from '../../api/client.ts';
import { SharingPanel } from '../../app/SharingPanel.tsx';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useKiosk } from '../kiosk/kiosk-store.ts';
import { RunActions } from './RunActions.tsx';
import { RunInstances } from './RunInstances.tsx';
import { runTimeline } from './run-timeline.ts';
import type { RunLogEntry, RunView } from './runs-store.ts';
import { StateBadge } from './StateBadge.tsx';
import { useRunDetail } from './use-run-detail.ts';
import { useUserNames } from '../../app/use-user-names.ts';
import './runs.css';

const time = (iso: string): string => new Date(iso).toLocaleString();

/**
 * A run: its state timeline, nodes and instances, live log, runtime parameters and, for who may
 * manage it, its actions. On a kiosk screen it is the read-only progress page after a deploy.
 */
export function RunPage() {
  const { id = '' } = useParams();
  const isKiosk = useKiosk((state) => state.locked === true);
  const session = useApp((state) => state.session);
  const detail = useRunDetail(id, !isKiosk);
  const names = useUserNames();
  const back = isKiosk ? (
    <Link to="/store">← Back to the store</Link>
  ) : (
    <Link to="/runs">← All runs</Link>
  );

  if (!detail?.run) {
    return (
      <section aria-labelledby="run-title">
        <p>{back}</p>
        <h1 id="run-title">Run</h1>
        {detail?.error ? <ErrorText error={detail.error} /> : <p role="status">Loading…</p>}
      </section>
    );
  }
  const { run, log, vms } = detail;
  const canManage =
    !isKiosk &&
    session !== null &&
    canAccess({ userId: session.user.id, role: session.user.role }, run, 'manage');
  const serviceUrl = run.params['run:url.service'];
  return (
    <section aria-labelledby="run-title">
      <p>{back}</p>
      <div className="run-head">
        <h1 id="run-title">{run.title}</h1>
        <StateBadge state={run.state} terminating={run.terminating} />
        {serviceUrl && (
          <a href={serviceUrl} target="_blank" rel="noreferrer">
            Open {serviceUrl}
          </a>
        )}
      </div>
      <ErrorText error={detail.error} />
      {run.archived && (
        <p className="muted" role="note">
          Archived: this finished run is kept out of the box&apos;s main store. It is read and
          deleted here, not changed.
        </p>
      )}
      {run.abort && (
        <p className="abort-note" role="note">
          Aborted by {names.get(run.abort.by) ?? run.abort.by} ({run.abort.source}) at{' '}
          {time(run.abort.at)}: {run.abort.message}
        </p>
      )}
      <Upgrades run={run} />
      <Timeline run={run} log={log} />
      <div className="run-grid">
        <div>
          <RunInstances run={run} vms={vms} showConsole={!isKiosk} />
          <RunLog log={log} names={names} />
        </div>
        <div>
          {canManage && <RunActions run={run} />}
          {canManage && !run.archived && (
            <SharingPanel
              acl={run.acl}
              level={2}
              note="A viewer given more than view still only views."
              save={(acl, expected) =>
                callSafe('setRunAcl', { params: { id: run.id }, body: { acl, expected } })
              }
            />
          )}
          <div className="panel">
            <h2>About</h2>
            <dl className="facts">
              <dt>Module</dt>
              <dd>
                <code>{run.module.resolved}</code>
              </dd>
              <dt>Owner</dt>
              <dd>{names.get(run.owner) ?? run.owner}</dd>
              <dt>Started</dt>
              <dd>{time(run.createdAt)}</dd>
              <dt>In state since</dt>
              <dd>{time(run.stateEnteredAt)}</dd>
              <dt>Keep running</dt>
              <dd>{run.keepRunning}</dd>
              <dt>Network</dt>
              <dd>
                {run.network?.mode === 'private'
                  ? 'Private to this run: its instances reach each other and the agent API only'
                  : 'User networking (no private networks on this host)'}
              </dd>
              <dt>Tags</dt>
              <dd>{run.tags.join(', ') || '—'}</dd>
              <dt>Run id</dt>
              <dd>
                <code>{run.id}</code>
              </dd>
            </dl>
          </div>
          <Parameters params={run.params} />
        </div>
      </div>
    </section>
  );
}

function Timeline({ run, log }: { run: RunView; log: RunLogEntry[] }) {
  return (
    <div className="panel">
      <h2 id="timeline-title">State timeline</h2>
      <ol className="timeline" aria-labelledby="timeline-title">
        {runTimeline(run, log).map((step) => (
          <li
            key={step.state}
            className={`${step.status}${step.state === 'Aborted' ? ' end-bad' : ''}`}
            aria-current={step.status === 'current' ? 'step' : undefined}
          >
            {step.state}
            <span className="visually-hidden"> ({step.status})</span>
            {step.enteredAt && (
              <time dateTime={step.enteredAt}>{new Date(step.enteredAt).toLocaleTimeString()}</time>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

function Upgrades({ run }: { run: RunView }) {
  if (!run.upgrade && !run.upgradeOf) return null;
  return (
    <p role="note">
      {run.upgradeOf && (
        <>
          Upgrade of <Link to={`/runs/${run.upgradeOf}`}>run {run.upgradeOf}</Link>.{' '}
        </>
      )}
      {run.upgrade && (
        <>
          Upgrade to <Link to={`/runs/${run.upgrade.to}`}>run {run.upgrade.to}</Link>:{' '}
          {run.upgrade.state}
          {run.upgrade.reason ? ` (${run.upgrade.reason})` : ''}.
        </>
      )}
    </p>
  );
}

/** The run's log, newest first: who did what, state changes, and the recipes' output. */
function RunLog({ log, names }: { log: RunLogEntry[]; names: Map<string, string> }) {
  return (
    <div className="panel">
      <h2 id="log-title">Event log</h2>
      <ol className="log" aria-labelledby="log-title" tabIndex={0}>
        {[...log].reverse().map((entry, index) => (
          <li key={`${log.length - index}`}>
            <time dateTime={entry.time}>{new Date(entry.time).toLocaleTimeString()}</time>
            <span>
              {names.get(entry.actor) ?? entry.actor} · {entry.action}
            </span>
            <span className="detail">{entry.detail}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function Parameters({ params }: { params: Record<string, string> }) {
  const keys = Object.keys(params).sort();
  return (
    <div className="panel table-scroll">
      <h2 id="params-title">Runtime parameters</h2>
      <table aria-labelledby="params-title">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key}>
              <td>
                <code>{key}</code>
              </td>
              <td>
                <code>{params[key]}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Secrets are shown as ********; the box never sends them.</p>
    </div>
  );
}

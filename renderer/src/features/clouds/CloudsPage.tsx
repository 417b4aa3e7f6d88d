import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { callSafe, type ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';
import { CloudHealthBadge } from '../../ui/CloudHealthBadge.tsx';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { AddCloudForm } from './AddCloudForm.tsx';
import { uriOf, useClouds, vmsOfCloud, type Cloud } from './clouds-store.ts';
import '../runs/runs.css';
import './clouds.css';

/**
 * Where VMs run: the box's own hypervisor and the remote hosts an administrator added, each with
 * its health and its VMs. Administrators add, test and remove clouds; everyone else reads.
 */
export function CloudsPage() {
  const clouds = useClouds((state) => state.clouds);
  const error = useClouds((state) => state.error);
  const load = useClouds((state) => state.load);
  const loadVms = useClouds((state) => state.loadVms);
  const isAdmin = useApp((state) => state.session?.user.role === 'admin');
  const rules = useClouds((state) => state.rules);
  const loadRules = useClouds((state) => state.loadRules);
  useEffect(() => {
    if (isAdmin) void loadRules();
  }, [isAdmin, loadRules]);
  useLiveLoad(load, (event) => event.subject.kind === 'cloud');
  useLiveLoad(loadVms, (event) => event.subject.kind === 'vm' || event.subject.kind === 'cloud');

  return (
    <section aria-labelledby="clouds-title">
      <h1 id="clouds-title">Clouds</h1>
      <p className="muted">
        Where VMs run: this box&apos;s own hypervisor and remote libvirt hosts. Remote hosts are
        checked in the background, and a change of health shows here as it happens.
      </p>
      <ErrorText error={error} />
      {clouds === null && !error && <p role="status">Loading…</p>}
      <ul className="cloud-list" aria-label="Clouds">
        {clouds?.map((cloud) => (
          <li key={cloud.id}>
            <CloudCard cloud={cloud} isAdmin={isAdmin} />
          </li>
        ))}
      </ul>
      {isAdmin && clouds && rules && (
        <AddCloudForm takenNames={clouds.map((cloud) => cloud.name)} keysDir={rules.keysDir} />
      )}
    </section>
  );
}

function CloudCard({ cloud, isAdmin }: { cloud: Cloud; isAdmin: boolean }) {
  const tracking = useClouds((state) => state.vms?.tracking[cloud.id]);
  const [testing, setTesting] = useState(false);
  const [answer, setAnswer] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [removing, setRemoving] = useState(false);
  const titleId = `cloud-${cloud.id}-title`;
  const { status } = cloud;
  // Only administrators get a cloud's config: others see no URI (it names hosts and users).
  const uri = uriOf(cloud);

  async function test() {
    setTesting(true);
    setAnswer(null);
    const result = await callSafe('testCloud', { params: { id: cloud.id } });
    setTesting(false);
    setError(result.ok ? null : result.error);
    if (result.ok) {
      const checked = result.value.status;
      setAnswer(
        checked.reachable
          ? `Reachable: answered in ${checked.latencyMs ?? '?'} ms.`
          : `Unreachable: ${checked.lastError ?? 'no answer'}`,
      );
    }
  }
  async function remove() {
    setRemoving(false);
    const result = await callSafe('removeCloud', { params: { id: cloud.id } });
    setError(result.ok ? null : result.error);
  }

  return (
    <article className="panel cloud" aria-labelledby={titleId}>
      <div className="cloud-head">
        <h2 id={titleId}>{cloud.name}</h2>
        <CloudHealthBadge status={status} />
        {cloud.builtIn && <span className="badge state-done">This box</span>}
        {cloud.disabled && <span className="badge state-bad">Disabled</span>}
      </div>
      {cloud.disabled && (
        <p className="cloud-error" role="note">
          Disabled, never contacted: {cloud.disabled.reason} Remove it and add it again with an
          allowed URI.
        </p>
      )}
      <dl className="facts">
        <dt>Kind</dt>
        <dd>{cloud.kind}</dd>
        {uri !== null && (
          <>
            <dt>URI</dt>
            <dd>
              <code>{uri}</code>
            </dd>
          </>
        )}
        <dt>Latency</dt>
        <dd>{status.latencyMs === null ? '—' : `${status.latencyMs} ms`}</dd>
        <dt>Last error</dt>
        <dd className={status.lastError ? 'cloud-error' : undefined}>
          {status.lastError ?? 'none'}
        </dd>
        <dt>Checked</dt>
        <dd>{status.checkedAt ? new Date(status.checkedAt).toLocaleString() : 'not yet'}</dd>
        {tracking && (
          <>
            <dt>VM changes</dt>
            <dd>
              {tracking === 'push' ? 'pushed as they happen' : 'polled (no event stream right now)'}
            </dd>
          </>
        )}
        {cloud.target && (
          <>
            <dt>Connects</dt>
            <dd>{cloud.target.summary.replace(/^connects /, '')}</dd>
          </>
        )}
      </dl>
      {isAdmin && (
        <div className="action-row cloud-actions">
          <button
            type="button"
            className="secondary"
            onClick={() => void test()}
            disabled={testing || cloud.disabled !== null}
          >
            {testing ? 'Testing…' : 'Test connection'}
          </button>
          {cloud.builtIn ? (
            <span className="muted">The box&apos;s own cloud cannot be removed.</span>
          ) : (
            <button type="button" className="danger" onClick={() => setRemoving(true)}>
              Remove
            </button>
          )}
        </div>
      )}
      {answer && (
        <p role="status" className="cloud-answer">
          {answer}
        </p>
      )}
      <ErrorText error={error} />
      <CloudVms cloudId={cloud.id} name={cloud.name} />
      <Confirm
        open={removing}
        title="Remove cloud?"
        message={`${cloud.name} is no longer offered for deployments. The box refuses while VMs of its runs still live there; VMs it did not make are left alone.`}
        action="Remove cloud"
        onConfirm={() => void remove()}
        onCancel={() => setRemoving(false)}
      />
    </article>
  );
}

/** The VMs on one cloud; for administrators also those Bivouac did not make or does not know. */
function CloudVms({ cloudId, name }: { cloudId: string; name: string }) {
  const list = useClouds((state) => state.vms);
  const vmsError = useClouds((state) => state.vmsError);
  const vms = vmsOfCloud(list, cloudId);
  if (!list) return vmsError ? <ErrorText error={vmsError} /> : null;
  if (vms.length === 0) return <p className="muted">No VMs on this cloud.</p>;
  return (
    <div className="table-scroll">
      <table aria-label={`VMs on ${name}`}>
        <thead>
          <tr>
            <th scope="col">VM</th>
            <th scope="col">State</th>
            <th scope="col">Run</th>
            <th scope="col">Addresses</th>
          </tr>
        </thead>
        <tbody>
          {vms.map((vm) => (
            <tr key={vm.key} className={vm.origin === 'bivouac' ? undefined : 'stray'}>
              <td>
                {vm.name}{' '}
                {vm.origin === 'unknown' && (
                  <span
                    className="badge state-bad"
                    title="Named like a Bivouac VM, but no run of this box knows it; reported, never deleted"
                  >
                    unknown
                  </span>
                )}
                {vm.origin === 'foreign' && (
                  <span className="badge state-done" title="Not made by Bivouac; left alone">
                    foreign
                  </span>
                )}
              </td>
              <td>{vm.state}</td>
              <td>
                {vm.runId && vm.origin === 'bivouac' ? (
                  <Link to={`/runs/${vm.runId}`}>{vm.runId}</Link>
                ) : (
                  (vm.runId ?? '—')
                )}
              </td>
              <td>{vm.ips.join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

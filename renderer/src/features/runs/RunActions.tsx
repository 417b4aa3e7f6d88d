import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { isFinal } from '../../../../appliance/src/domain/run-states.ts';
import { call, callSafe, type ApiError } from '../../api/client.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import type { RunView } from './runs-store.ts';

/**
 * What someone who may manage the run can do: terminate (after a confirmation), abort with a
 * reason, and — while Ready — scale a node or upgrade to a newer version; once it has ended,
 * delete it for good (after a confirmation). Each answer comes back over the event stream;
 * errors show the appliance's message.
 */
export function RunActions({ run }: { run: RunView }) {
  const navigate = useNavigate();
  const [error, setError] = useState<ApiError | null>(null);
  const [asking, setAsking] = useState<'terminate' | 'abort' | 'delete' | null>(null);
  const [busy, setBusy] = useState(false);
  const isOver = isFinal(run.state);
  // An aborted run may keep its VMs (its keep-running policy); terminate is what ends them.
  const holdsVms = run.instances.some(
    (instance) =>
      instance.vmId !== null && ['launching', 'running', 'removing'].includes(instance.state),
  );
  const ended = isOver && !holdsVms;
  const isReady = run.state === 'Ready' && !run.terminating && !run.abort;

  async function act(action: () => Promise<{ ok: true } | { ok: false; error: ApiError }>) {
    setAsking(null);
    setBusy(true);
    const result = await action();
    setBusy(false);
    setError(result.ok ? null : result.error);
  }

  return (
    <div className="panel">
      <h2>Actions</h2>
      {ended ? (
        <>
          <p className="muted">
            {run.archived
              ? 'The run has ended and is archived: it can be read and deleted, not changed.'
              : 'The run has ended; nothing is left running.'}
          </p>
          <div className="action-row">
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => setAsking('delete')}
            >
              Delete run
            </button>
          </div>
        </>
      ) : (
        <div className="action-row">
          <button
            type="button"
            className="danger"
            disabled={busy || run.terminating}
            onClick={() => setAsking('terminate')}
          >
            {run.terminating ? 'Terminating…' : 'Terminate'}
          </button>
          {!isOver && (
            <button
              type="button"
              className="secondary"
              disabled={busy || run.terminating || run.abort !== null}
              onClick={() => setAsking('abort')}
            >
              Abort
            </button>
          )}
        </div>
      )}
      {isReady && <Scale run={run} onError={setError} />}
      {isReady && <Upgrade run={run} onError={setError} />}
      {!isOver && !isReady && (
        <p className="muted">Scaling and upgrading are possible once the run is Ready.</p>
      )}
      <ErrorText error={error} />
      <Confirm
        open={asking === 'terminate'}
        title="Terminate run?"
        message={`Every VM of "${run.title}" is destroyed and its disks deleted. This cannot be undone.`}
        action="Terminate"
        onConfirm={() => void act(() => callSafe('terminateRun', { params: { id: run.id } }))}
        onCancel={() => setAsking(null)}
      />
      <Confirm
        open={asking === 'delete'}
        title="Delete run?"
        message={`"${run.title}", its log and the records of its VMs are deleted for good. This cannot be undone.`}
        action="Delete"
        onConfirm={() =>
          void act(async () => {
            const result = await callSafe('deleteRun', { params: { id: run.id } });
            if (result.ok) void navigate('/runs');
            return result;
          })
        }
        onCancel={() => setAsking(null)}
      />
      <AbortDialog
        open={asking === 'abort'}
        onAbort={(reason) =>
          void act(() => callSafe('abortRun', { params: { id: run.id }, body: { reason } }))
        }
        onCancel={() => setAsking(null)}
      />
    </div>
  );
}

/** Asks for the reason an abort records (the first abort wins). */
function AbortDialog({
  open,
  onAbort,
  onCancel,
}: {
  open: boolean;
  onAbort: (reason: string) => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  useEffect(() => {
    if (open && !dialog.current?.open) dialog.current?.showModal();
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open]);
  function submit(event: FormEvent) {
    event.preventDefault();
    onAbort(reason.trim());
    setReason('');
  }
  return (
    <dialog ref={dialog} onCancel={onCancel} aria-labelledby="abort-title">
      <form onSubmit={submit}>
        <h2 id="abort-title">Abort run?</h2>
        <p>
          The run stops where it is and records why. Its VMs stay until it is terminated, unless its
          keep-running policy ends them.
        </p>
        <label>
          Reason
          <textarea
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            required
            maxLength={1000}
            autoFocus
          />
        </label>
        <div className="actions">
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={reason.trim() === ''}>
            Abort run
          </button>
        </div>
      </form>
    </dialog>
  );
}

function Scale({ run, onError }: { run: RunView; onError: (error: ApiError | null) => void }) {
  const live = (node: string) =>
    run.instances.filter(
      (instance) =>
        instance.node === node && ['pending', 'launching', 'running'].includes(instance.state),
    ).length;
  const [sizes, setSizes] = useState<Record<string, number>>({});
  const [busy, setBusy] = useState(false);
  async function scale(event: FormEvent, node: string) {
    event.preventDefault();
    setBusy(true);
    const result = await callSafe('scaleRun', {
      params: { id: run.id },
      body: { node, multiplicity: sizes[node] ?? live(node) },
    });
    setBusy(false);
    onError(result.ok ? null : result.error);
    // The new size arrives with the run's next event; until then the field shows what was asked.
    if (result.ok) setSizes(({ [node]: _asked, ...rest }) => rest);
  }
  return (
    <>
      {run.nodes.map((node) => (
        <form
          key={node.name}
          className="action-row"
          onSubmit={(event) => void scale(event, node.name)}
          aria-label={`Scale ${node.name}`}
        >
          <label>
            Instances of {node.name}
            <input
              type="number"
              min={0}
              max={64}
              step={1}
              required
              value={sizes[node.name] ?? live(node.name)}
              onChange={(event) => setSizes({ ...sizes, [node.name]: Number(event.target.value) })}
            />
          </label>
          <button
            type="submit"
            className="secondary"
            disabled={busy || (sizes[node.name] ?? live(node.name)) === live(node.name)}
          >
            Scale
          </button>
        </form>
      ))}
    </>
  );
}

/** The newer versions of the run's module to upgrade to: deployed beside, switched when Ready. */
function Upgrade({ run, onError }: { run: RunView; onError: (error: ApiError | null) => void }) {
  const [path, current] = run.module.resolved.split('@') as [string, string];
  const [versions, setVersions] = useState<number[] | null>(null);
  const [chosen, setChosen] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    call('moduleHistory', { query: { path } })
      .then((history) =>
        setVersions(
          history
            .map((entry) => entry.version)
            .filter((version) => version > Number(current))
            .sort((a, b) => b - a),
        ),
      )
      .catch(() => setVersions([]));
  }, [path, current]);
  if (run.upgrade?.state === 'deploying') return null;
  if (!versions?.length) return <p className="muted">No newer version of {path} to upgrade to.</p>;
  async function upgrade(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const result = await callSafe('upgradeRun', {
      params: { id: run.id },
      body: { module: `${path}@${chosen || versions![0]}` },
    });
    setBusy(false);
    onError(result.ok ? null : result.error);
  }
  return (
    <form className="action-row" onSubmit={(event) => void upgrade(event)} aria-label="Upgrade">
      <label>
        Upgrade to
        <select
          value={chosen || String(versions[0])}
          onChange={(event) => setChosen(event.target.value)}
        >
          {versions.map((version) => (
            <option key={version} value={version}>
              {path}@{version}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="secondary" disabled={busy}>
        Upgrade
      </button>
    </form>
  );
}

import { useState, type FormEvent, type ReactNode } from 'react';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import {
  addCloudBody,
  cloudFormProblems,
  cloudTargetOf,
  emptyCloudForm,
  serverProblems,
  type CloudField,
  type CloudForm,
  type CloudProblems,
} from './cloud-form.ts';

/**
 * Adds a remote libvirt host. Fields are checked as they are left (and all at once on Add); the
 * URI as it is typed, with who and where it would connect as. The appliance's refusal is shown
 * beside the field it names and in full below the form.
 */
export function AddCloudForm({
  takenNames,
  keysDir,
}: {
  takenNames: readonly string[];
  keysDir: string;
}) {
  const [form, setForm] = useState<CloudForm>(emptyCloudForm);
  const [touched, setTouched] = useState<Partial<Record<CloudField, boolean>>>({});
  const [fromServer, setFromServer] = useState<CloudProblems>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const place = { keysDir };
  const problems = cloudFormProblems(form, takenNames, place);
  const target = cloudTargetOf(form, place);
  // The URI is judged as it is typed; the other fields once left.
  const shown = (field: CloudField): string | undefined =>
    fromServer[field] ??
    (touched[field] || (field === 'uri' && form.uri.trim() !== '') ? problems[field] : undefined);

  function change(field: CloudField, value: string) {
    setForm({ ...form, [field]: value });
    setFromServer(({ [field]: _answered, ...rest }) => rest);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setTouched({ name: true, uri: true, callTimeoutSeconds: true });
    setAdded(null);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    const result = await callSafe('addCloud', { body: addCloudBody(form) });
    setBusy(false);
    if (!result.ok) {
      setError(result.error);
      setFromServer(serverProblems(result.error));
      return;
    }
    const { status } = result.value;
    setError(null);
    setFromServer({});
    setTouched({});
    setForm(emptyCloudForm);
    setAdded(
      `Added ${result.value.name}: ${status.reachable ? `reachable, ${status.latencyMs ?? '?'} ms` : `not reachable yet (${status.lastError ?? 'no answer'})`}.`,
    );
  }

  const field = (
    name: CloudField,
    label: string,
    input: (props: FieldProps) => ReactNode,
    hint?: string,
  ) => {
    const problem = shown(name);
    const hintId = `cloud-${name}-hint`;
    const problemId = `cloud-${name}-problem`;
    return (
      <div className={`field field-${name}`}>
        <label htmlFor={`cloud-${name}`}>{label}</label>
        {input({
          id: `cloud-${name}`,
          'aria-invalid': problem ? true : undefined,
          'aria-describedby':
            [hint ? hintId : '', problem ? problemId : ''].filter(Boolean).join(' ') || undefined,
          onBlur: () => setTouched((all) => ({ ...all, [name]: true })),
        })}
        {hint && (
          <small id={hintId} className="muted">
            {hint}
          </small>
        )}
        {problem && (
          <small id={problemId} className="error field-problem">
            {problem}
          </small>
        )}
      </div>
    );
  };

  return (
    <form
      className="panel cloud-form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="add-cloud-title"
      noValidate
    >
      <h2 id="add-cloud-title">Add a remote libvirt host</h2>
      <div className="cloud-form-grid">
        {field('name', 'Name', (props) => (
          <input
            {...props}
            value={form.name}
            onChange={(event) => change('name', event.target.value)}
            maxLength={64}
            autoComplete="off"
          />
        ))}
        <div className="field">
          <label htmlFor="cloud-kind">Kind</label>
          <select id="cloud-kind" value="libvirt" disabled>
            <option value="libvirt">libvirt</option>
          </select>
        </div>
        {field(
          'uri',
          'URI',
          (props) => (
            <input
              {...props}
              value={form.uri}
              onChange={(event) => change('uri', event.target.value)}
              placeholder="qemu+ssh://root@10.0.0.2/system"
              spellCheck={false}
              autoComplete="off"
            />
          ),
          `qemu+ssh://user@host/system (a key: ?keyfile=${keysDir.replace(/\/$/, '')}/…), qemu+tcp://host/system, qemu+tls://host/system, or test:///default for a dry run`,
        )}
        {target && !fromServer.uri && (
          <p className="cloud-target" role="status">
            {target}
          </p>
        )}
        {field(
          'accelerator',
          'Accelerator',
          (props) => (
            <select
              {...props}
              value={form.accelerator}
              onChange={(event) => change('accelerator', event.target.value)}
            >
              <option value="auto">auto</option>
              <option value="kvm">kvm</option>
              <option value="tcg">tcg (emulated)</option>
            </select>
          ),
          'auto: KVM where the host has it, else TCG.',
        )}
        {field(
          'callTimeoutSeconds',
          'Call timeout (seconds)',
          (props) => (
            <input
              {...props}
              type="number"
              min={1}
              max={600}
              value={form.callTimeoutSeconds}
              onChange={(event) => change('callTimeoutSeconds', event.target.value)}
            />
          ),
          'How long one call to the host may take before it counts as unreachable.',
        )}
      </div>
      <ErrorText error={error} />
      {added && <p role="status">{added}</p>}
      <div className="actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Adding…' : 'Add cloud'}
        </button>
      </div>
    </form>
  );
}

interface FieldProps {
  id: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
  onBlur: () => void;
}

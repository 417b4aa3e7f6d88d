import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { callSafe, uploadSafe, type ApiError, type Result } from '../../api/client.ts';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { formatBytes } from '../../ui/format-bytes.ts';
import { useLiveLoad } from '../../app/live.ts';
import { useBox, type Publisher } from './box-store.ts';
import { ImportMeter } from './ImportMeter.tsx';

type Installed = RouteOutput<'importApp'>;

/** What an install answered, in words: the app and version, and the warning of an unsigned bundle. */
function installedText(result: Installed): string {
  return `Installed ${result.app.title} ${result.app.version}.${result.warning ? ` Warning: ${result.warning}` : ''}`;
}

/**
 * App bundles: whose signatures the box trusts, whether unsigned bundles may install, and
 * installing bundles from removable media or by upload. Administrators only.
 */
export function BundlesPanel() {
  const loadTrust = useBox((state) => state.loadTrust);
  useLiveLoad(
    loadTrust,
    (event) => event.subject.kind === 'publisher' || event.subject.kind === 'settings',
  );
  return (
    <div className="panel">
      <h2 id="box-bundles">App bundles</h2>
      <p className="muted">
        Apps travel as signed bundles (<code>.bvc</code>). Installed apps appear in the{' '}
        <Link to="/store">App Store</Link>.
      </p>
      <UnsignedSetting />
      <Publishers />
      <InstallBundles />
    </div>
  );
}

function UnsignedSetting() {
  const allowUnsigned = useBox((state) => state.allowUnsigned);
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  async function change(allow: boolean) {
    setAsking(false);
    const result = await callSafe('setBundleSettings', { body: { allowUnsigned: allow } });
    setError(result.ok ? null : result.error);
  }
  const isAllowed = allowUnsigned.value === true;
  return (
    <div className="box-subsection">
      <h3>Unsigned bundles</h3>
      <ErrorText error={allowUnsigned.error} />
      {isAllowed ? (
        <p className="banner unsigned-warning" role="alert">
          Unsigned bundles are allowed: a bundle that is unsigned, or signed by a publisher the box
          does not trust, installs with only a warning. Anyone with such a bundle can put software
          on this box. Refuse them again once the bundle you needed is installed.
        </p>
      ) : (
        allowUnsigned.value === false && (
          <p>Refused: only bundles signed by a trusted publisher install.</p>
        )
      )}
      {allowUnsigned.value !== null && (
        <button
          type="button"
          className={isAllowed ? '' : 'danger'}
          onClick={() => (isAllowed ? void change(false) : setAsking(true))}
        >
          {isAllowed ? 'Refuse unsigned bundles' : 'Allow unsigned bundles'}
        </button>
      )}
      <ErrorText error={error} />
      <Confirm
        open={asking}
        title="Allow unsigned bundles?"
        message="Bundles nobody you trust has signed will install, with a warning. Only do this for a bundle you know, and refuse them again afterwards."
        action="Allow unsigned bundles"
        onConfirm={() => void change(true)}
        onCancel={() => setAsking(false)}
      />
    </div>
  );
}

function Publishers() {
  const publishers = useBox((state) => state.publishers);
  const [form, setForm] = useState({ name: '', publicKey: '', appIds: '' });
  const [removing, setRemoving] = useState<Publisher | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function trust(event: FormEvent) {
    event.preventDefault();
    const result = await callSafe('trustPublisher', {
      body: {
        name: form.name.trim(),
        publicKey: form.publicKey.trim(),
        appIds: form.appIds.split(/[\s,]+/).filter(Boolean),
      },
    });
    setError(result.ok ? null : result.error);
    if (result.ok) setForm({ name: '', publicKey: '', appIds: '' });
  }
  async function distrust(publisher: Publisher) {
    setRemoving(null);
    const result = await callSafe('distrustPublisher', { params: { id: publisher.keyId } });
    setError(result.ok ? null : result.error);
  }

  return (
    <div className="box-subsection">
      <h3 id="box-publishers">Trusted publishers</h3>
      <ErrorText error={publishers.error} />
      <ul className="list" aria-labelledby="box-publishers">
        {publishers.value?.map((publisher) => (
          <li key={publisher.keyId}>
            <span>{publisher.name}</span> <code>{publisher.keyId}</code>{' '}
            <small>
              signs {publisher.appIds.includes('*') ? 'every app' : publisher.appIds.join(', ')} ·
              since {new Date(publisher.addedAt).toLocaleDateString()}
            </small>
            <button
              type="button"
              className="danger"
              onClick={() => setRemoving(publisher)}
              aria-label={`Stop trusting ${publisher.name}`}
            >
              Stop trusting
            </button>
          </li>
        ))}
        {publishers.value?.length === 0 && <li>No trusted publishers.</li>}
      </ul>
      <form
        className="inline"
        onSubmit={(event) => void trust(event)}
        aria-label="Trust a publisher"
      >
        <label>
          Publisher name
          <input
            value={form.name}
            onChange={(event) => setForm({ ...form, name: event.target.value })}
            required
            maxLength={100}
          />
        </label>
        <label>
          Public key (base64 ed25519)
          <input
            value={form.publicKey}
            onChange={(event) => setForm({ ...form, publicKey: event.target.value })}
            required
            maxLength={100}
            spellCheck={false}
          />
        </label>
        <label>
          App ids it signs
          <input
            value={form.appIds}
            onChange={(event) => setForm({ ...form, appIds: event.target.value })}
            required
            placeholder="acme-*"
            title="App ids (acme-crm), prefixes ending in * (acme-*), or * for every app; separated by commas or spaces"
            spellCheck={false}
          />
        </label>
        <button type="submit">Trust</button>
      </form>
      <p className="muted">
        The name is what the store shows as the publisher, and must be the one its bundles name in
        their manifest. A key signs only the app ids given (<code>acme-*</code> for every id
        starting with <code>acme-</code>); an app stays with the key of its first install.
      </p>
      <ErrorText error={error} />
      <Confirm
        open={removing !== null}
        title="Stop trusting this publisher?"
        message={`Bundles signed by ${removing?.name ?? ''} no longer install (unless unsigned bundles are allowed). Apps installed already stay.`}
        action="Stop trusting"
        onConfirm={() => removing && void distrust(removing)}
        onCancel={() => setRemoving(null)}
      />
    </div>
  );
}

/** Bundles found on USB sticks and the like, and upload from this computer; progress from events. */
function InstallBundles() {
  const sources = useBox((state) => state.sources);
  const progress = useBox((state) => state.progress);
  const loadSources = useBox((state) => state.loadSources);
  const forgetProgress = useBox((state) => state.forgetProgress);
  const [busy, setBusy] = useState<string | null>(null);
  const [answer, setAnswer] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [allowDowngrade, setAllowDowngrade] = useState(false);
  useLiveLoad(loadSources, () => false);

  async function install(source: string, action: () => Promise<Result<Installed>>) {
    setBusy(source);
    setAnswer(null);
    const result = await action();
    setBusy(null);
    forgetProgress(`bundle:${source}`);
    setError(result.ok ? null : result.error);
    if (result.ok) setAnswer(installedText(result.value));
  }
  function sendFile(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    if (!file) return;
    const query = { allowDowngrade: allowDowngrade ? ('true' as const) : ('false' as const) };
    void install('upload', () => uploadSafe('uploadApp', file, { query })).then(() => {
      form.reset();
      setFile(null);
    });
  }

  return (
    <div className="box-subsection">
      <h3 id="box-media">Install from removable media</h3>
      <ErrorText error={sources.error} />
      <ul className="list" aria-labelledby="box-media">
        {sources.value?.map((source) => (
          <li key={source.path}>
            <code>{source.path}</code> <small>{formatBytes(source.sizeBytes)}</small>
            <button
              type="button"
              disabled={busy !== null}
              onClick={() =>
                void install(source.path, () =>
                  callSafe('importApp', { body: { path: source.path, allowDowngrade } }),
                )
              }
            >
              Install
            </button>
            {busy === source.path && (
              <ImportMeter
                label={`Installing ${source.path}`}
                progress={progress[`bundle:${source.path}`] ?? null}
              />
            )}
          </li>
        ))}
        {sources.value?.length === 0 && (
          <li>No bundles on mounted media (/media, /mnt, /run/media) or in the import folders.</li>
        )}
      </ul>
      <button type="button" className="secondary" onClick={() => void loadSources()}>
        Look again
      </button>
      <label className="check">
        <input
          type="checkbox"
          checked={allowDowngrade}
          onChange={(event) => setAllowDowngrade(event.target.checked)}
        />
        Allow an older version than the one installed (it never becomes the app&apos;s version)
      </label>
      <form className="inline box-upload" onSubmit={sendFile} aria-label="Upload a bundle">
        <label>
          Bundle file
          <input
            type="file"
            accept=".bvc,.tar"
            required
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
        </label>
        <button type="submit" disabled={busy !== null || !file}>
          {busy === 'upload' ? 'Installing…' : 'Upload and install'}
        </button>
        {busy === 'upload' && (
          <ImportMeter label="Uploading the bundle" progress={progress['bundle:upload'] ?? null} />
        )}
      </form>
      {answer && <p role="status">{answer}</p>}
      <ErrorText error={error} />
    </div>
  );
}

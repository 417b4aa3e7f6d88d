import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { modulePageUrl } from './module-urls.ts';
import { ProblemList } from './ProblemList.tsx';
import { TextAreaField } from './TextAreaField.tsx';

/**
 * The module and everything under it as YAML (one document per module, as the box exports it),
 * to download, reloaded as they change; and an import of such a stream, saved all or nothing as
 * new versions.
 */
export function YamlPanel({ path, mayImport }: { path: string; mayImport: boolean }) {
  const [yaml, setYaml] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const load = useCallback(async () => {
    const result = await callSafe('exportModules', { query: { path } });
    setYaml(result.ok ? result.value.yaml : null);
    setError(result.ok ? null : result.error);
  }, [path]);
  // Saved, imported or deleted: this module or one under it changes what the export holds.
  useLiveLoad(
    load,
    (event) =>
      event.subject.kind === 'module' &&
      (event.subject.id === path || event.subject.id.startsWith(`${path}/`)),
  );
  const download = useMemo(
    () =>
      yaml === null ? null : URL.createObjectURL(new Blob([yaml], { type: 'application/yaml' })),
    [yaml],
  );
  useEffect(() => () => (download ? URL.revokeObjectURL(download) : undefined), [download]);
  const fileName = `${path.slice(1).replaceAll('/', '-')}.yaml`;

  return (
    <div>
      <section className="panel" aria-labelledby="export-title">
        <h3 id="export-title">Export</h3>
        <p className="hint">
          The latest version of {path} and of every module under it that you may view.
        </p>
        <ErrorText error={error} />
        {download && (
          <p>
            <a className="download-link" href={download} download={fileName}>
              Download {fileName}
            </a>
          </p>
        )}
        {yaml !== null && (
          <pre className="yaml" aria-label={`YAML of ${path}`} tabIndex={0}>
            {yaml}
          </pre>
        )}
      </section>
      {mayImport && <ImportForm />}
    </div>
  );
}

/** Pastes or reads a YAML stream and saves every module in it as a new version. */
function ImportForm() {
  const [text, setText] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<RouteOutput<'importModules'> | null>(null);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const result = await callSafe('importModules', {
      body: { yaml: text, message: message.trim() },
    });
    setError(result.ok ? null : result.error);
    setSaved(result.ok ? result.value : null);
  }
  return (
    <form
      className="panel publish-form"
      onSubmit={(event) => void submit(event)}
      aria-labelledby="import-title"
    >
      <h3 id="import-title">Import</h3>
      <p className="hint">
        Each document names its own path; all of them are checked, then saved together or not at
        all.
      </p>
      <label>
        YAML file
        <input
          type="file"
          accept=".yaml,.yml,application/yaml,text/yaml"
          onChange={(event) => void event.target.files?.[0]?.text().then(setText)}
        />
      </label>
      <TextAreaField
        label="YAML"
        value={text}
        onChange={setText}
        rows={8}
        spellCheck={false}
        required
        className="yaml-input"
      />
      <label>
        What changed
        <input
          value={message}
          onChange={(event) => setMessage(event.target.value)}
          required
          maxLength={500}
        />
      </label>
      <div className="actions">
        <button type="submit" disabled={text.trim() === '' || message.trim() === ''}>
          Import
        </button>
      </div>
      {saved && (
        <div role="status">
          <p>✓ Saved {saved.length === 1 ? '1 module' : `${saved.length} modules`}:</p>
          <ul className="list">
            {saved.map((module) => (
              <li key={module.path}>
                <Link to={modulePageUrl(module.path)}>{module.path}</Link>{' '}
                <small>version {module.version}</small>
              </li>
            ))}
          </ul>
        </div>
      )}
      <ErrorText error={error} />
      <ProblemList error={error} />
    </form>
  );
}

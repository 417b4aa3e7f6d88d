import { useCallback, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { parseReference } from '../../../../appliance/src/domain/module-references.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { DeployFormPicker } from './DeployFormPicker.tsx';
import { splitList, suggestedAppId } from './module-draft.ts';
import type { DeployFormChoice } from './publish-form.ts';
import { TextAreaField } from './TextAreaField.tsx';
import { useLiveList } from '../../app/use-live-list.ts';

type AppSummary = RouteOutput<'listApps'>[number];

/**
 * Publishing (administrators): a version of this image or deployment becomes an app in the
 * store, or a new version of an app already there; the apps made from this module are listed
 * with a way to take them out of the store and to put them back.
 */
export function PublishPanel({
  path,
  latestVersion,
  description,
}: {
  path: string;
  latestVersion: number;
  description: string;
}) {
  const [error, setError] = useState<ApiError | null>(null);
  const [published, setPublished] = useState<RouteOutput<'publishApp'> | null>(null);
  const [asking, setAsking] = useState<AppSummary | null>(null);
  /** Null until the picker knows every input and the form fits (a partial form is never sent). */
  const [deployForm, setDeployForm] = useState<DeployFormChoice | null>(null);
  const [form, setForm] = useState({
    id: suggestedAppId(path),
    version: latestVersion,
    title: '',
    summary: description,
    description: '',
    categories: '',
  });
  // Unpublished apps too (administrators only), so one taken out can be published again later.
  const loadApps = useCallback(
    () => callSafe('listApps', { query: { include: 'unpublished' } }),
    [],
  );
  const { items: allApps, error: appsError } = useLiveList<AppSummary>(
    loadApps,
    (event) => event.subject.kind === 'app',
  );
  const fromModule = allApps.filter((app) => parseReference(app.module).path === path);
  const apps = fromModule.filter((app) => app.published);
  const hidden = fromModule.filter((app) => !app.published);

  async function publish(event: FormEvent) {
    event.preventDefault();
    if (deployForm === null) return;
    const result = await callSafe('publishApp', {
      body: {
        id: form.id.trim(),
        module: `${path}@${form.version}`,
        title: form.title.trim(),
        summary: form.summary.trim(),
        description: form.description,
        categories: splitList(form.categories),
        form: deployForm.form,
        clouds: deployForm.clouds,
      },
    });
    setError(result.ok ? null : result.error);
    setPublished(result.ok ? result.value : null);
  }
  async function setListed(app: AppSummary, isListed: boolean) {
    setAsking(null);
    const result = await callSafe('setAppPublished', {
      params: { id: app.id },
      body: { published: isListed },
    });
    setError(result.ok ? null : result.error);
  }

  const versions = Array.from({ length: latestVersion }, (_, index) => latestVersion - index);
  return (
    <div>
      <section className="panel" aria-labelledby="in-store-title">
        <h3 id="in-store-title">In the App Store</h3>
        <ErrorText error={appsError} />
        {apps.length === 0 && hidden.length === 0 && (
          <p className="muted">No app of the store deploys this module.</p>
        )}
        <ul className="list" aria-label="Apps from this module">
          {apps.map((app) => (
            <li key={app.id}>
              <Link to={`/store/${app.id}`}>{app.title}</Link>
              <small>
                {app.id} {app.version} · deploys <code>{app.module}</code>
              </small>
              <button type="button" className="danger" onClick={() => setAsking(app)}>
                Unpublish
              </button>
            </li>
          ))}
          {hidden.map((app) => (
            <li key={app.id}>
              <span>{app.title}</span>
              <small>{app.id} · unpublished</small>
              <button type="button" className="secondary" onClick={() => void setListed(app, true)}>
                Publish again
              </button>
            </li>
          ))}
        </ul>
      </section>
      <form
        className="panel publish-form"
        onSubmit={(event) => void publish(event)}
        aria-labelledby="publish-title"
      >
        <h3 id="publish-title">Publish a version</h3>
        <p className="hint">An existing app id gets a new version; deployed runs keep theirs.</p>
        <div className="field-row">
          <label>
            App id
            <input
              value={form.id}
              onChange={(event) => setForm({ ...form, id: event.target.value })}
              required
              pattern="[a-z][a-z0-9\-]{1,63}"
              spellCheck={false}
            />
          </label>
          <label>
            Module version
            <select
              value={form.version}
              onChange={(event) => setForm({ ...form, version: Number(event.target.value) })}
            >
              {versions.map((version) => (
                <option key={version} value={version}>
                  {path}@{version}
                  {version === latestVersion ? ' (latest)' : ''}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Title
          <input
            value={form.title}
            onChange={(event) => setForm({ ...form, title: event.target.value })}
            required
            maxLength={100}
          />
        </label>
        <label>
          Summary
          <input
            value={form.summary}
            onChange={(event) => setForm({ ...form, summary: event.target.value })}
            required
            maxLength={200}
          />
        </label>
        <TextAreaField
          label="Description"
          value={form.description}
          rows={3}
          onChange={(description) => setForm({ ...form, description })}
          maxLength={20000}
        />
        <label>
          Categories
          <input
            value={form.categories}
            onChange={(event) => setForm({ ...form, categories: event.target.value })}
            placeholder="web, demo"
            spellCheck={false}
          />
        </label>
        {/* A new version starts a new choice: its nodes and inputs may differ. */}
        <DeployFormPicker
          key={`${path}@${form.version}`}
          path={path}
          version={form.version}
          onChange={setDeployForm}
        />
        <div className="actions">
          <button type="submit" disabled={deployForm === null}>
            Publish
          </button>
        </div>
        {published && (
          <p role="status" className="notice">
            ✓ Published {published.title} {published.version} ({published.module}).{' '}
            <Link to={`/store/${published.id}`}>Open it in the App Store</Link>
          </p>
        )}
        <ErrorText error={error} />
      </form>
      {asking && (
        <Confirm
          open
          title="Unpublish app?"
          message={`${asking.title} leaves the App Store: nobody can deploy it until it is published again. Runs already deployed keep running.`}
          action="Unpublish"
          onConfirm={() => void setListed(asking, false)}
          onCancel={() => setAsking(null)}
        />
      )}
    </div>
  );
}

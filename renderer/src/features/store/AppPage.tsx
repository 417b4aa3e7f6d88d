import { useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { useRuns } from '../runs/runs-store.ts';
import { AppIcon } from './AppIcon.tsx';
import './store.css';

type AppDetail = RouteOutput<'getApp'>;

/** One app: what it is, its screenshots, what it needs, and the way to deploy it. */
export function AppPage() {
  const { id = '' } = useParams();
  const [app, setApp] = useState<AppDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const role = useApp((state) => state.session?.user.role);
  const isDeploying = useRuns((state) => state.pending.some((deploy) => deploy.appId === id));
  const load = useCallback(async () => {
    const result = await callSafe('getApp', { params: { id } });
    setApp(result.ok ? result.value : null);
    setError(result.ok ? null : result.error);
  }, [id]);
  useLiveLoad(load, (event) => event.subject.kind === 'app' && event.subject.id === id);

  const back = (
    <p>
      <Link to="/store">← App Store</Link>
    </p>
  );
  if (!app) {
    return (
      <section aria-labelledby="app-title">
        {back}
        <h1 id="app-title">App</h1>
        {error ? <ErrorText error={error} /> : <p role="status">Loading…</p>}
      </section>
    );
  }
  return (
    <section aria-labelledby="app-title">
      {back}
      <div className="app-hero">
        <AppIcon url={app.iconUrl} title={app.title} size={96} />
        <div>
          <h1 id="app-title">{app.title}</h1>
          <p>{app.summary}</p>
          <p className="muted">
            {app.publisher ?? 'No publisher'} · version {app.version} ·{' '}
            {app.signed ? 'signed' : 'unsigned'}
            {app.categories.length > 0 && ` · ${app.categories.join(', ')}`}
          </p>
        </div>
        <div className="app-deploy">
          {role === 'viewer' ? (
            <p className="muted">Viewers browse the store; deploying needs an operator.</p>
          ) : isDeploying ? (
            <button type="button" className="large" disabled>
              Deploying…
            </button>
          ) : (
            <Link className="button-link large" to={`/store/${app.id}/deploy`}>
              Deploy
            </Link>
          )}
        </div>
      </div>
      <div className="panel description">
        <h2>About</h2>
        {app.description
          .split(/\n\s*\n/)
          .filter((paragraph) => paragraph.trim())
          .map((paragraph, index) => (
            <p key={index}>{paragraph.trim()}</p>
          ))}
        {app.requires.length > 0 && (
          <>
            <h3>Needs</h3>
            <ul>
              {app.requires.map((required) => (
                <li key={required.image}>
                  the base image <code>{required.image}</code>: {required.hint}
                </li>
              ))}
            </ul>
          </>
        )}
      </div>
      {app.screenshotUrls.length > 0 && (
        <div className="panel">
          <h2>Screenshots</h2>
          <ul className="screenshots">
            {app.screenshotUrls.map((url, index) => (
              <li key={url}>
                <a href={url} target="_blank" rel="noreferrer">
                  <img src={url} alt={`Screenshot ${index + 1} of ${app.title}`} loading="lazy" />
                </a>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

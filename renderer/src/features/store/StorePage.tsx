import { useMemo } from 'react';
import { Link } from 'react-router';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useKiosk } from '../kiosk/kiosk-store.ts';
import { useLiveLoad } from '../../app/live.ts';
import { useRuns } from '../runs/runs-store.ts';
import { AppIcon } from './AppIcon.tsx';
import { categoriesOf, useStore, visibleApps } from './store-store.ts';
import './store.css';

/** The app store: every published app as a card, narrowed by a search and a category. */
export function StorePage() {
  const apps = useStore((state) => state.apps);
  const error = useStore((state) => state.error);
  const search = useStore((state) => state.search);
  const category = useStore((state) => state.category);
  const load = useStore((state) => state.load);
  const setSearch = useStore((state) => state.setSearch);
  const setCategory = useStore((state) => state.setCategory);
  const pending = useRuns((state) => state.pending);
  const isKiosk = useKiosk((state) => state.locked === true);
  useLiveLoad(load, (event) => event.subject.kind === 'app');
  const categories = useMemo(() => categoriesOf(apps ?? []), [apps]);
  const shown = useMemo(() => visibleApps(apps ?? [], search, category), [apps, search, category]);

  return (
    <section aria-labelledby="store-title">
      <div className="store-head">
        <h1 id="store-title">App Store</h1>
        {!isKiosk && (
          <Link className="button-link secondary" to="/kiosk">
            Kiosk mode
          </Link>
        )}
      </div>
      <div className="store-tools">
        <label className="store-search" role="search">
          Search apps
          <input
            type="search"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            placeholder="name, purpose, publisher"
          />
        </label>
        <div className="chips" role="group" aria-label="Categories">
          <button
            type="button"
            className="chip"
            aria-pressed={category === null}
            onClick={() => setCategory(null)}
          >
            All
          </button>
          {categories.map((name) => (
            <button
              key={name}
              type="button"
              className="chip"
              aria-pressed={category === name}
              onClick={() => setCategory(category === name ? null : name)}
            >
              {name}
            </button>
          ))}
        </div>
      </div>
      <ErrorText error={error} />
      {apps === null && !error && <p role="status">Loading…</p>}
      <ul className="app-grid" aria-label="Apps">
        {shown.map((app) => (
          <li key={app.id}>
            <Link className="app-card" to={`/store/${app.id}`}>
              <AppIcon url={app.iconUrl} title={app.title} />
              <span className="app-title">{app.title}</span>
              <span className="app-summary">{app.summary}</span>
              <span className="app-meta">
                {app.categories.join(' · ')}
                {!app.signed && <span className="badge unsigned">unsigned</span>}
                {pending.some((deploy) => deploy.appId === app.id) && (
                  <span className="badge">Deploying…</span>
                )}
              </span>
            </Link>
          </li>
        ))}
      </ul>
      {apps !== null && shown.length === 0 && (
        <p>
          {apps.length === 0
            ? 'The store is empty: an administrator installs apps from bundles.'
            : 'No app matches; clear the search or pick another category.'}
        </p>
      )}
    </section>
  );
}

import { NavLink, Outlet } from 'react-router';
import { Fingerprint } from '../features/setup/FirstRun.tsx';
import { useApp } from './store.ts';

/** The sections of the UI, in the order of the navigation. */
export const sections = [
  { path: 'store', label: 'App Store', plan: '' },
  { path: 'dashboard', label: 'Dashboard', plan: '' },
  { path: 'runs', label: 'Runs', plan: '' },
  { path: 'modules', label: 'Modules', plan: '' },
  { path: 'clouds', label: 'Clouds', plan: '' },
  { path: 'users', label: 'Users', plan: '' },
  { path: 'box', label: 'Box', plan: '' },
] as const;

export function Shell() {
  const { session, setup, connected, signOut } = useApp();
  return (
    <div className="shell">
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header>
        <span className="brand">Bivouac</span>
        <nav aria-label="Sections">
          {sections.map((section) => (
            <NavLink key={section.path} to={`/${section.path}`}>
              {section.label}
            </NavLink>
          ))}
        </nav>
        <span className={connected ? 'live on' : 'live'} title={connected ? 'Live updates on' : 'Reconnecting…'} aria-label={connected ? 'Live updates on' : 'Reconnecting'} />
        <span className="who">
          {session?.user.username} ({session?.user.role})
        </span>
        <button type="button" className="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {setup?.dryRun && (
        <p className="banner" role="status">
          Dry run: no libvirt daemon answered, so VMs are simulated by libvirt&apos;s test driver and nothing really runs.
        </p>
      )}
      <main id="content" tabIndex={-1}>
        <Outlet />
      </main>
      <footer>{setup?.tlsFingerprint && <Fingerprint value={setup.tlsFingerprint} />}</footer>
    </div>
  );
}

/** A section whose page is not built yet says so plainly. */
export function NotBuilt({ label, plan }: { label: string; plan: string }) {
  return (
    <section aria-labelledby="section-title">
      <h1 id="section-title">{label}</h1>
      <p className="not-built">This section is not built yet.</p>
      <p>{plan}</p>
    </section>
  );
}

import { useShallow } from 'zustand/react/shallow';
import { NavLink, Outlet } from 'react-router';
import { Fingerprint } from '../features/setup/FirstRun.tsx';
import { useFocusHeadingOnNavigate } from './focus-on-navigate.ts';
import { LostBoxBanner } from './LostBoxBanner.tsx';
import { useApp } from './store.ts';

/** The sections of the UI, in the order of the navigation. */
export const sections = [
  { path: 'store', label: 'App Store' },
  { path: 'dashboard', label: 'Dashboard' },
  { path: 'runs', label: 'Runs' },
  { path: 'modules', label: 'Modules' },
  { path: 'clouds', label: 'Clouds' },
  { path: 'users', label: 'Users' },
  { path: 'box', label: 'Box' },
] as const;

export function Shell() {
  useFocusHeadingOnNavigate();
  const { session, setup, connected, signOut } = useApp(
    useShallow(({ session, setup, connected, signOut }) => ({
      session,
      setup,
      connected,
      signOut,
    })),
  );
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
        <span
          role="img"
          className={connected ? 'live on' : 'live'}
          title={connected ? 'Live updates on' : 'Reconnecting…'}
          aria-label={connected ? 'Live updates on' : 'Reconnecting'}
        />
        <span className="who">
          {session?.user.username} ({session?.user.role})
        </span>
        <button type="button" className="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <LostBoxBanner />
      {setup?.dryRun && (
        <p className="banner" role="status">
          Dry run: no libvirt daemon answered, so VMs are simulated by libvirt&apos;s test driver
          and nothing really runs.
        </p>
      )}
      <main id="content" tabIndex={-1}>
        <Outlet />
      </main>
      <footer>{setup?.tlsFingerprint && <Fingerprint value={setup.tlsFingerprint} />}</footer>
    </div>
  );
}

/** An address that is no section's: says so and points back to the navigation. */
export function NotFound() {
  return (
    <section aria-labelledby="section-title">
      <h1 id="section-title">Not found</h1>
      <p>There is no such page; pick a section above.</p>
    </section>
  );
}

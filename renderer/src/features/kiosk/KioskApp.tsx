import { LostBoxBanner } from '../../app/LostBoxBanner.tsx';
import { PageError } from '../../app/PageError.tsx';
import { useFocusHeadingOnNavigate } from '../../app/focus-on-navigate.ts';
import { useEffect, useState } from 'react';
import { createMemoryRouter, Navigate, Outlet, RouterProvider } from 'react-router';
import { useApp } from '../../app/store.ts';
import { runPageRoute } from '../runs/routes.tsx';
import { storeRoutes } from '../store/routes.tsx';
import { PinDialog } from './PinDialog.tsx';
import './kiosk.css';

/**
 * The box's screen locked to the app store: the store, its deploy forms and the progress page of
 * a deploy, with large touch targets and no other section. Its router keeps its place in memory,
 * so the address never changes and a reload lands on the store again.
 */
export function KioskApp() {
  const [router] = useState(() =>
    createMemoryRouter(
      [
        {
          path: '/',
          element: <KioskShell />,
          errorElement: <PageError />,
          children: [
            { index: true, element: <Navigate to="/store" replace /> },
            ...storeRoutes,
            runPageRoute,
            { path: '*', element: <Navigate to="/store" replace /> },
          ],
        },
      ],
      { initialEntries: ['/store'] },
    ),
  );
  useEffect(() => () => router.dispose(), [router]);
  return <RouterProvider router={router} />;
}

function KioskShell() {
  useFocusHeadingOnNavigate();
  const dryRun = useApp((state) => state.setup?.dryRun);
  const [leaving, setLeaving] = useState(false);
  return (
    <div className="shell kiosk">
      <header>
        <span className="brand">Bivouac App Store</span>
        <span className="kiosk-spacer" />
        <button type="button" className="secondary" onClick={() => setLeaving(true)}>
          Leave kiosk mode
        </button>
      </header>
      <LostBoxBanner />
      {dryRun && (
        <p className="banner" role="status">
          Dry run: no libvirt daemon answered, so VMs are simulated by libvirt&apos;s test driver
          and nothing really runs.
        </p>
      )}
      <main id="content" tabIndex={-1}>
        <Outlet />
      </main>
      <PinDialog open={leaving} onClose={() => setLeaving(false)} />
    </div>
  );
}

import { useShallow } from 'zustand/react/shallow';
import { useEffect, useState } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { boxRoutes } from '../features/box/routes.tsx';
import { cloudRoutes } from '../features/clouds/routes.tsx';
import { dashboardRoutes } from '../features/dashboard/routes.tsx';
import { KioskApp } from '../features/kiosk/KioskApp.tsx';
import { kioskRoutes } from '../features/kiosk/routes.tsx';
import { moduleRoutes } from '../features/modules/routes.tsx';
import { useKioskStatus } from '../features/kiosk/use-kiosk-status.ts';
import { runRoutes } from '../features/runs/routes.tsx';
import { FirstRun } from '../features/setup/FirstRun.tsx';
import { storeRoutes } from '../features/store/routes.tsx';
import { Login } from '../features/setup/Login.tsx';
import { UsersPage } from '../features/users/UsersPage.tsx';
import { PageError } from './PageError.tsx';
import { NotFound, Shell } from './Shell.tsx';
import { useApp } from './store.ts';

const router = createBrowserRouter([
  {
    path: '/',
    element: <Shell />,
    errorElement: <PageError />,
    children: [
      { index: true, element: <Navigate to="/store" replace /> },
      { path: 'users', element: <UsersPage /> },
      ...storeRoutes,
      ...dashboardRoutes,
      ...runRoutes,
      ...kioskRoutes,
      ...moduleRoutes,
      ...cloudRoutes,
      ...boxRoutes,
      { path: '*', element: <NotFound /> },
    ],
  },
]);

/** First run, then sign-in, then the shell. */
export function App() {
  // Selected field by field: an event (which changes only lastEvent) re-renders nothing here.
  const { loading, setup, session, load } = useApp(
    useShallow(({ loading, setup, session, load }) => ({ loading, setup, session, load })),
  );
  const isKioskLocked = useKioskStatus();
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    load().catch((error: unknown) => setFailure((error as Error).message));
  }, [load]);
  if (failure) {
    return (
      <main className="centered">
        <p className="error" role="alert">
          {failure}
        </p>
      </main>
    );
  }
  if (loading) return <main className="centered">Loading…</main>;
  if (setup?.needsAdmin) return <FirstRun />;
  if (!session) return <Login />;
  if (isKioskLocked === null) return <main className="centered">Loading…</main>;
  if (isKioskLocked) return <KioskApp />;
  return <RouterProvider router={router} />;
}

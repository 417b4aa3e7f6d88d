import { lazy, Suspense, type ReactNode } from 'react';
import type { RouteObject } from 'react-router';

const RunsPage = lazy(() =>
  import('./RunsPage.tsx').then((module) => ({ default: module.RunsPage })),
);
const RunPage = lazy(() => import('./RunPage.tsx').then((module) => ({ default: module.RunPage })));

/** A page loaded on first visit, so the first screen's JavaScript stays small. */
export function lazyPage(page: ReactNode): ReactNode {
  return <Suspense fallback={<p role="status">Loading…</p>}>{page}</Suspense>;
}

/** The run page alone: what a kiosk screen shows after a deploy. */
export const runPageRoute: RouteObject = { path: 'runs/:id', element: lazyPage(<RunPage />) };

/** The Runs section: the list and each run's page. */
export const runRoutes: RouteObject[] = [
  { path: 'runs', element: lazyPage(<RunsPage />) },
  runPageRoute,
];

import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const RunsPage = lazy(() =>
  import('./RunsPage.tsx').then((module) => ({ default: module.RunsPage })),
);
const RunPage = lazy(() => import('./RunPage.tsx').then((module) => ({ default: module.RunPage })));

/** The run page alone: what a kiosk screen shows after a deploy. */
export const runPageRoute: RouteObject = { path: 'runs/:id', element: lazyPage(<RunPage />) };

/** The Runs section: the list and each run's page. */
export const runRoutes: RouteObject[] = [
  { path: 'runs', element: lazyPage(<RunsPage />) },
  runPageRoute,
];

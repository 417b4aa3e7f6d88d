import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const RunsPage = lazySection(() => import('./RunsPage.tsx'), 'RunsPage');
const RunPage = lazySection(() => import('./RunPage.tsx'), 'RunPage');

/** The run page alone: what a kiosk screen shows after a deploy. */
export const runPageRoute: RouteObject = { path: 'runs/:id', element: lazyPage(<RunPage />) };

/** The Runs section: the list and each run's page. */
export const runRoutes: RouteObject[] = [
  { path: 'runs', element: lazyPage(<RunsPage />) },
  runPageRoute,
];

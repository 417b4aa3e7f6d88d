import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const StorePage = lazy(() =>
  import('./StorePage.tsx').then((module) => ({ default: module.StorePage })),
);
const AppPage = lazy(() => import('./AppPage.tsx').then((module) => ({ default: module.AppPage })));
const DeployPage = lazy(() =>
  import('./DeployPage.tsx').then((module) => ({ default: module.DeployPage })),
);

/** The App Store section: the grid, each app's page, and its deploy form. */
export const storeRoutes: RouteObject[] = [
  { path: 'store', element: lazyPage(<StorePage />) },
  { path: 'store/:id', element: lazyPage(<AppPage />) },
  { path: 'store/:id/deploy', element: lazyPage(<DeployPage />) },
];

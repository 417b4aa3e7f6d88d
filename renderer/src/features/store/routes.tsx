import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const StorePage = lazySection(() => import('./StorePage.tsx'), 'StorePage');
const AppPage = lazySection(() => import('./AppPage.tsx'), 'AppPage');
const DeployPage = lazySection(() => import('./DeployPage.tsx'), 'DeployPage');

/** The App Store section: the grid, each app's page, and its deploy form. */
export const storeRoutes: RouteObject[] = [
  { path: 'store', element: lazyPage(<StorePage />) },
  { path: 'store/:id', element: lazyPage(<AppPage />) },
  { path: 'store/:id/deploy', element: lazyPage(<DeployPage />) },
];

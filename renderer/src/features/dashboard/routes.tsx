import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const DashboardPage = lazySection(() => import('./DashboardPage.tsx'), 'DashboardPage');

/** The Dashboard section: one page, loaded on first visit. */
export const dashboardRoutes: RouteObject[] = [
  { path: 'dashboard', element: lazyPage(<DashboardPage />) },
];

import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const DashboardPage = lazy(() =>
  import('./DashboardPage.tsx').then((module) => ({ default: module.DashboardPage })),
);

/** The Dashboard section: one page, loaded on first visit. */
export const dashboardRoutes: RouteObject[] = [
  { path: 'dashboard', element: lazyPage(<DashboardPage />) },
];

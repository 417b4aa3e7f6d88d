import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const CloudsPage = lazy(() =>
  import('./CloudsPage.tsx').then((module) => ({ default: module.CloudsPage })),
);

/** The Clouds section: every cloud with its health and VMs. */
export const cloudRoutes: RouteObject[] = [{ path: 'clouds', element: lazyPage(<CloudsPage />) }];

import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const ModulesPage = lazy(() =>
  import('./ModulesPage.tsx').then((module) => ({ default: module.ModulesPage })),
);

/** The Modules workspace: the tree alone, or with a module open (`/modules/project/image`). */
export const moduleRoutes: RouteObject[] = [
  { path: 'modules', element: lazyPage(<ModulesPage />) },
  { path: 'modules/*', element: lazyPage(<ModulesPage />) },
];

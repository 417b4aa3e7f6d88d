import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const ModulesPage = lazySection(() => import('./ModulesPage.tsx'), 'ModulesPage');

/** The Modules workspace: the tree alone, or with a module open (`/modules/project/image`). */
export const moduleRoutes: RouteObject[] = [
  { path: 'modules', element: lazyPage(<ModulesPage />) },
  { path: 'modules/*', element: lazyPage(<ModulesPage />) },
];

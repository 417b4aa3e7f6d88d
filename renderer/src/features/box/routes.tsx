import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const BoxPage = lazySection(() => import('./BoxPage.tsx'), 'BoxPage');

/** The Box section: host facts, base images, app bundles, logs and power. */
export const boxRoutes: RouteObject[] = [{ path: 'box', element: lazyPage(<BoxPage />) }];

import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const BoxPage = lazy(() => import('./BoxPage.tsx').then((module) => ({ default: module.BoxPage })));

/** The Box section: host facts, base images, app bundles, logs and power. */
export const boxRoutes: RouteObject[] = [{ path: 'box', element: lazyPage(<BoxPage />) }];

import { lazy } from 'react';
import type { RouteObject } from 'react-router';
import { lazyPage } from '../../ui/lazy-page.tsx';

const KioskSettings = lazy(() =>
  import('./KioskSettings.tsx').then((module) => ({ default: module.KioskSettings })),
);

/** Kiosk mode's settings page (reached from the App Store; not a section of its own). */
export const kioskRoutes: RouteObject[] = [{ path: 'kiosk', element: lazyPage(<KioskSettings />) }];

import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const KioskSettings = lazySection(() => import('./KioskSettings.tsx'), 'KioskSettings');

/** Kiosk mode's settings page (reached from the App Store; not a section of its own). */
export const kioskRoutes: RouteObject[] = [{ path: 'kiosk', element: lazyPage(<KioskSettings />) }];

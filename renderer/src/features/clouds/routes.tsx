import type { RouteObject } from 'react-router';
import { lazyPage, lazySection } from '../../ui/lazy-page.tsx';

const CloudsPage = lazySection(() => import('./CloudsPage.tsx'), 'CloudsPage');

/** The Clouds section: every cloud with its health and VMs. */
export const cloudRoutes: RouteObject[] = [{ path: 'clouds', element: lazyPage(<CloudsPage />) }];

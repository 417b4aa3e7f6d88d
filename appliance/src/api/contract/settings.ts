import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the box's settings: for now, whether unsigned bundles may install. */
export const settingRoutes = {
  getBundleSettings: {
    method: 'GET',
    path: '/settings/bundles',
    tag: 'apps',
    auth: 'admin',
    summary: 'Whether unsigned bundles may install',
    response: s.BundleSettings,
  },
  setBundleSettings: {
    method: 'PUT',
    path: '/settings/bundles',
    tag: 'apps',
    auth: 'admin',
    summary: 'Allow or refuse unsigned bundles',
    body: s.BundleSettings,
    response: s.BundleSettings,
  },
} as const satisfies Record<string, RouteContract>;

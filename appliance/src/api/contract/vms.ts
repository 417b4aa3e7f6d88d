import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the VMs on the clouds. */
export const vmRoutes = {
  listVms: {
    method: 'GET',
    path: '/vms',
    tag: 'clouds',
    auth: 'user',
    summary: 'VMs Bivouac launched, and (for administrators) unknown and foreign VMs on its clouds',
    query: s.VmQuery,
    response: s.VmList,
  },
} as const satisfies Record<string, RouteContract>;

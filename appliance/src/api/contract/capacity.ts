import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the box's capacity and the users' quotas. */
export const capacityRoutes = {
  getCapacity: {
    method: 'GET',
    path: '/capacity',
    tag: 'capacity',
    auth: 'user',
    summary: "The box's capacity: used, reserved and free per resource, overall and per user",
    response: s.CapacityReport,
  },
  setQuota: {
    method: 'PUT',
    path: '/users/:id/quota',
    tag: 'capacity',
    auth: 'admin',
    summary: "Set a user's quota inside the box's capacity",
    params: s.IdParams,
    body: s.Quota,
    response: s.Quota,
  },
} as const satisfies Record<string, RouteContract>;

import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of clouds (connector instances). */
export const cloudRoutes = {
  listClouds: {
    method: 'GET',
    path: '/clouds',
    tag: 'clouds',
    auth: 'user',
    inKiosk: true,
    summary:
      'Clouds (connector instances) with live status: reachable, latency, last error; their config (URI) for administrators only',
    response: s.Cloud.array(),
  },
  addCloud: {
    method: 'POST',
    path: '/clouds',
    tag: 'clouds',
    auth: 'admin',
    status: 201,
    summary:
      'Add a cloud: a connector kind plus its config; the answer says who and where it connects as (target). A libvirt URI is parsed and only allowed parameters pass',
    body: s.AddCloud,
    response: s.Cloud,
  },
  cloudRules: {
    method: 'GET',
    path: '/clouds/rules',
    tag: 'clouds',
    auth: 'admin',
    summary:
      "What a cloud's config may name on this box (the keys folder for keyfile= and known_hosts=), so a form can check a URI as it is typed",
    response: s.CloudRules,
  },
  testCloud: {
    method: 'POST',
    path: '/clouds/:id/test',
    tag: 'clouds',
    auth: 'admin',
    summary:
      'Check the connection to a cloud now (it opens a connection on demand: administrators only); a disabled cloud is never contacted (CLOUD_DISABLED)',
    params: s.IdParams,
    response: s.Cloud,
  },
  removeCloud: {
    method: 'DELETE',
    path: '/clouds/:id',
    tag: 'clouds',
    auth: 'admin',
    status: 204,
    summary: "Remove a cloud (never the box's own)",
    params: s.IdParams,
    response: s.Empty,
  },
} as const satisfies Record<string, RouteContract>;

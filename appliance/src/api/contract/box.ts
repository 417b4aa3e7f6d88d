import * as s from '../schemas.ts';
import type { RouteContract } from './route-contract.ts';

/** Routes of the box itself: metric history, host metrics and facts, logs, power. */
export const boxRoutes = {
  historyIndex: {
    method: 'GET',
    path: '/history/metrics',
    tag: 'box',
    auth: 'user',
    summary: 'The metrics with history, and the resolutions kept',
    response: s.HistoryIndex,
  },
  getHistory: {
    method: 'GET',
    path: '/history',
    tag: 'box',
    auth: 'user',
    summary:
      "A metric's history at one resolution (host.* for everyone, vm.<id>.* for who may view the VM)",
    query: s.HistoryQuery,
    response: s.HistorySeries,
  },
  boxMetrics: {
    method: 'GET',
    path: '/box/metrics',
    tag: 'box',
    auth: 'user',
    summary:
      "The host's latest sample: CPU, memory, disk, network, temperature when available; each new one is announced as a box.metrics event",
    response: s.BoxMetrics,
  },
  boxFacts: {
    method: 'GET',
    path: '/box',
    tag: 'box',
    auth: 'user',
    summary:
      "The host: version, OS, CPU, memory, the data disk's size and free space, uptime, certificate fingerprint, accelerator; for administrators also every disk, the network interfaces, listen addresses and the hypervisor URI",
    response: s.BoxFacts,
  },
  boxLogs: {
    method: 'GET',
    path: '/box/logs',
    tag: 'box',
    auth: 'admin',
    summary: "The appliance's recent log lines, newest first, optionally from a level up",
    query: s.BoxLogQuery,
    response: s.BoxLogs,
  },
  powerBox: {
    method: 'POST',
    path: '/box/power',
    tag: 'box',
    auth: 'admin',
    status: 202,
    summary:
      'Power the box off or reboot it (every VM on it stops); the UI asks for confirmation first',
    body: s.PowerRequest,
    response: s.PowerAccepted,
  },
} as const satisfies Record<string, RouteContract>;

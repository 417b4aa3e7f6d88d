import { canAccess, privateTo, visibleToAll } from '../../domain/access.ts';
import { domainEvent } from '../../domain/events.ts';
import { BivouacError } from '../../errors.ts';
import type { BoxFactsSource } from '../../host/facts.ts';
import type { LogRing } from '../../host/log-ring.ts';
import type { MetricsSampler } from '../../host/metrics.ts';
import type { PowerControl } from '../../host/power.ts';
import type { EventLog } from '../../store/event-log.ts';
import type { VmTracker } from '../../orchestrator/vm-tracker.ts';
import { resolutions } from '../../store/history-file.ts';
import type { History } from '../../store/history.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

export interface BoxDependencies {
  history: History | null;
  sampler: () => MetricsSampler | null;
  vms: VmTracker;
  power: PowerControl;
  events: EventLog;
  facts: () => BoxFactsSource;
  /** The box's disk for VMs as the capacity counts it (the disk formula), in GiB. */
  vmDisk: () => { total: number; held: number; free: number };
  /** The recent log lines, when the appliance keeps them (server.ts). */
  logs: () => LogRing | null;
  /** What the box says about itself beside the host's facts. */
  identity: {
    version: string;
    tlsFingerprint: string | null;
    hypervisorUri: string;
    isDryRun: boolean;
  };
}

/**
 * The host's facts (what maps the host only for administrators), the appliance's recent log lines, host metrics now and their history (a VM's
 * series only for who may view the VM), and the box's power actions, announced to everyone once
 * the host has accepted them (a refused one is only the caller's error).
 */
export function boxHandlers({
  history,
  sampler,
  vms,
  power,
  events,
  facts,
  vmDisk,
  logs,
  identity,
}: BoxDependencies): Pick<
  Handlers,
  'boxFacts' | 'boxLogs' | 'historyIndex' | 'getHistory' | 'boxMetrics' | 'powerBox'
> {
  const notKept = (metric: string) =>
    new BivouacError(
      'METRIC_NOT_FOUND',
      `No history is kept for ${metric}; GET /api/v1/history/metrics lists what is.`,
      { metric },
    );
  return {
    boxFacts: async (_input, context) => {
      const { disks, network, listen, ...host } = await facts().read();
      const dataDisk = disks.find((disk) => disk.holdsDataDir);
      const forEveryone = {
        ...host,
        version: identity.version,
        tlsFingerprint: identity.tlsFingerprint,
        dataDisk: dataDisk
          ? {
              sizeBytes: dataDisk.sizeBytes,
              usedBytes: dataDisk.usedBytes,
              freeBytes: dataDisk.freeBytes,
            }
          : null,
        vmDisk: vmDisk(),
        hypervisor: { dryRun: identity.isDryRun },
      };
      // Addresses, MACs, mounts, listen URLs and the hypervisor URI map the host: administrators only.
      if (signedIn(context).subject.role !== 'admin') return forEveryone;
      return {
        ...forEveryone,
        disks,
        network,
        listen,
        hypervisor: { uri: identity.hypervisorUri, dryRun: identity.isDryRun },
      };
    },
    boxLogs: async ({ query }) => {
      const ring = logs();
      return { lines: ring?.recent(query.limit, query.level) ?? [], capacity: ring?.capacity ?? 0 };
    },
    historyIndex: async (_input, context) => {
      const { subject } = signedIn(context);
      const visible = (history?.metrics() ?? []).filter((metric) => {
        if (!metric.startsWith('vm.')) return true;
        const vm = vms.all().find((candidate) => candidate.id === metric.split('.')[1]);
        return vm !== undefined && canAccess(subject, privateTo(vm.owner), 'view');
      });
      return {
        metrics: visible,
        resolutions: resolutions.map(({ name, stepSeconds, slots }) => ({
          name,
          stepSeconds,
          slots,
        })),
      };
    },
    getHistory: async ({ query }, context) => {
      const { subject } = signedIn(context);
      if (query.metric.startsWith('vm.')) {
        const vm = vms.all().find((candidate) => candidate.id === query.metric.split('.')[1]);
        if (!vm || !canAccess(subject, privateTo(vm.owner), 'view')) throw notKept(query.metric);
      }
      const points = history?.query(query.metric, query.resolution, query.from, query.to) ?? null;
      if (!points) throw notKept(query.metric);
      const stepSeconds = resolutions.find(
        (resolution) => resolution.name === query.resolution,
      )!.stepSeconds;
      return { metric: query.metric, resolution: query.resolution, stepSeconds, points };
    },
    powerBox: async ({ body }, context) => {
      const { user } = signedIn(context);
      const asked = { action: body.action, by: user.id, at: new Date().toISOString() };
      await power.perform(body.action);
      events.append(domainEvent('box.power', 'box', visibleToAll('system'), asked));
      return asked;
    },
    boxMetrics: async () => {
      const sample = sampler()?.latest ?? null;
      return {
        timeMs: sample?.timeMs ?? null,
        cpuPercent: sample?.cpuPercent ?? null,
        memory: sample?.memory ?? null,
        disk: sample?.disk ?? null,
        network: sample?.network
          ? {
              rxBytesPerSecond: sample.network.rxBytesPerSecond,
              txBytesPerSecond: sample.network.txBytesPerSecond,
            }
          : null,
        temperatureCelsius: sample?.temperatureCelsius ?? null,
      };
    },
  };
}

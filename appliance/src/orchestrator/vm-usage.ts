import type { Clouds } from '../connectors/clouds.ts';
import { holdsResources } from '../domain/vms.ts';
import type { VmUsage } from '../host/metrics.ts';
import type { VmTracker } from './vm-tracker.ts';

/**
 * Per-VM CPU and memory from the clouds: CPU as the share of the VM's own vCPUs used between two
 * reads (null on the first read of a VM), memory as the domain's current allocation.
 */
export class VmUsageMeter {
  private readonly previous = new Map<string, { timeMs: number; cpuTimeNs: number }>();

  constructor(
    private readonly vms: VmTracker,
    private readonly clouds: Clouds,
    private readonly now: () => number = Date.now,
  ) {}

  async read(): Promise<VmUsage[]> {
    const live = this.vms.all().filter(holdsResources);
    const byCloud = new Map<string, typeof live>();
    for (const vm of live) byCloud.set(vm.cloudId, [...(byCloud.get(vm.cloudId) ?? []), vm]);
    const usage: VmUsage[] = [];
    for (const [cloudId, vms] of byCloud) {
      if (this.clouds.isDisabled(cloudId)) continue; // never contacted
      const connector = this.clouds.connector(cloudId);
      if (!connector.usage) continue;
      const read = await connector.usage(vms.map((vm) => vm.nativeId)).catch(() => []);
      const timeMs = this.now();
      for (const sample of read) {
        const vm = vms.find((candidate) => candidate.nativeId === sample.nativeId)!;
        const before = this.previous.get(vm.id);
        this.previous.set(vm.id, { timeMs, cpuTimeNs: sample.cpuTimeNs });
        const elapsedNs = before ? (timeMs - before.timeMs) * 1e6 : 0;
        const cpuPercent =
          before && elapsedNs > 0 && sample.cpuTimeNs >= before.cpuTimeNs
            ? Math.min(
                100,
                ((sample.cpuTimeNs - before.cpuTimeNs) / (elapsedNs * Math.max(1, sample.vcpus))) *
                  100,
              )
            : null;
        usage.push({ vmId: vm.id, cpuPercent, memoryMiB: sample.memoryKiB / 1024 });
      }
    }
    for (const id of this.previous.keys())
      if (!live.some((vm) => vm.id === id)) this.previous.delete(id);
    return usage;
  }
}

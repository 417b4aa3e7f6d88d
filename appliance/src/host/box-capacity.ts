import { statfs } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import type { Amounts } from '../domain/capacity.ts';

export interface CapacitySettings {
  maxVms: number;
  vcpuOvercommit: number;
  memoryOvercommit: number;
  hostReservedMemoryMiB: number;
  diskGiB: number | null;
}

const mib = 1024 * 1024;
const gib = 1024 * mib;

/**
 * The box's capacity from its host facts (cores, memory, the data dir's file system) and the
 * configured overcommit. Computed at start; changing hardware means a restart anyway.
 */
export async function boxCapacity(settings: CapacitySettings, dataDir: string): Promise<Amounts> {
  const cores = cpus().length;
  const memoryMiB = Math.floor(totalmem() / mib);
  let diskGiB = settings.diskGiB;
  if (diskGiB === null) {
    const fs = await statfs(dataDir);
    diskGiB = Math.floor((fs.blocks * fs.bsize * 0.9) / gib);
  }
  return {
    vms: settings.maxVms,
    vcpu: Math.floor(cores * settings.vcpuOvercommit),
    memoryMiB: Math.max(
      0,
      Math.floor((memoryMiB - settings.hostReservedMemoryMiB) * settings.memoryOvercommit),
    ),
    diskGiB,
  };
}

import { mkdirSync, readdirSync, lstatSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { Amounts } from '../domain/capacity.ts';
import { limits } from '../domain/limits.ts';

export interface CapacitySettings {
  maxVms: number;
  vcpuOvercommit: number;
  memoryOvercommit: number;
  hostReservedMemoryMiB: number;
  /** A cap on the disk the box offers VMs; null: the disk formula alone. */
  diskGiB: number | null;
}

const mib = 1024 * 1024;
const gib = 1024 * mib;

/**
 * The box's capacity now: cores, memory and VMs from its host facts and the configured
 * overcommit (read at start: changing hardware means a restart anyway), disk from the disk
 * formula each time it is asked (`vmDiskBytes`), under the configured cap if any.
 */
export function boxCapacity(settings: CapacitySettings, vmDir: string): () => Amounts {
  const cores = cpus().length;
  const memoryMiB = Math.floor(totalmem() / mib);
  const fixed = {
    vms: settings.maxVms,
    vcpu: Math.floor(cores * settings.vcpuOvercommit),
    memoryMiB: Math.max(
      0,
      Math.floor((memoryMiB - settings.hostReservedMemoryMiB) * settings.memoryOvercommit),
    ),
  };
  mkdirSync(vmDir, { recursive: true, mode: 0o711 });
  return () => {
    const formula = Math.floor(vmDiskBytes(vmDir) / gib);
    return {
      ...fixed,
      diskGiB: settings.diskGiB === null ? formula : Math.min(settings.diskGiB, formula),
    };
  };
}

/**
 * The one disk formula, which pre-flight, the Dashboard, the Box page and deploys all read
 * through the box's capacity. Disk available to new VMs is
 *
 *   free bytes of the VM folder's file system
 *   − Σ over live VMs (their reserved disk − what their files already hold)
 *   − Σ over reservations not launched yet (their reserved disk)
 *   − a reserve kept free for the data dir (limits.diskReserveBytes).
 *
 * Every reservation holds its VMs' whole disks (a thin overlay may grow to its full size: disk is
 * never overcommitted, unlike vCPUs and memory), so the reservations' part is the capacity
 * check's own (what is held against what is offered). What the box offers is therefore the rest:
 * free bytes + the bytes the VM folder's files hold (the box's live VMs' overlays, seeds and
 * console logs) − the reserve. A VM's files count once, whether they grew or not.
 */
export function vmDiskBytes(vmDir: string, reserveBytes: number = limits.diskReserveBytes): number {
  const fs = statfsSync(vmDir);
  return Math.max(0, fs.bavail * fs.bsize + allocatedBytes(vmDir) - reserveBytes);
}

/** Bytes the files under `dir` hold on disk (sparse files count what they allocated). */
function allocatedBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += allocatedBytes(path);
    else if (entry.isFile()) total += lstatSync(path).blocks * 512;
  }
  return total;
}

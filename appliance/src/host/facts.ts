import { realpath, stat, statfs } from 'node:fs/promises';
import { cpus, hostname, networkInterfaces, totalmem, uptime } from 'node:os';
import { sep } from 'node:path';

/**
 * Facts about the host the box runs on, for the Box page: what it is (OS, CPU, memory), where
 * its data lives (disks) and how it is reached (interfaces, listen addresses). Each part is read
 * on its own; a part the host cannot tell is empty or null, never made up.
 */

export interface DiskFact {
  mount: string;
  filesystem: string;
  type: string;
  sizeBytes: number;
  usedBytes: number;
  freeBytes: number;
  /** This file system holds the appliance's data directory. */
  holdsDataDir: boolean;
}

export interface InterfaceFact {
  name: string;
  /** Every address with its prefix length: `192.168.1.5/24`, `fe80::1/64`. */
  addresses: string[];
  mac: string | null;
  up: boolean;
  /** Loopback. */
  internal: boolean;
  /** A bridge, tap or other interface without a device behind it. */
  virtual: boolean;
}

export interface HostFacts {
  hostname: string;
  os: { distro: string; release: string; kernel: string; arch: string };
  cpu: { model: string; cores: number; physicalCores: number | null };
  memoryTotalBytes: number;
  disks: DiskFact[];
  network: InterfaceFact[];
  uptimeSeconds: number;
  listen: string[];
  accelerator: 'kvm' | 'tcg' | null;
  /** When the cached part was read. */
  checkedAt: string;
}

/** Reads the host's facts; `server.ts` gives the real one, tests may give their own. */
export interface BoxFactsSource {
  read(): Promise<HostFacts>;
}

export interface HostFactsOptions {
  /** The appliance's data directory: its file system is always among the disks. */
  dataDir: string;
  /** The URLs the appliance listens on, once it does. */
  listening?: () => readonly string[];
  /** The accelerator VMs get on the box's hypervisor; null when it is not known (a dry run). */
  accelerator?: () => Promise<'kvm' | 'tcg' | null>;
  /** How long a reading is reused: systeminformation runs commands for some parts. */
  cacheMs?: number;
  now?: () => number;
}

/**
 * The host's facts from systeminformation and node:os, read at most once per `cacheMs` (default
 * 10 s) however many screens ask; uptime and the listen addresses are always current.
 */
export function hostFacts(options: HostFactsOptions): BoxFactsSource {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 10_000;
  let cached: { at: number; facts: Promise<Omit<HostFacts, 'uptimeSeconds' | 'listen'>> } | null =
    null;
  return {
    async read() {
      if (!cached || now() - cached.at >= cacheMs) {
        const at = now();
        const facts = gather(options, at);
        cached = { at, facts };
        // A failed reading is not kept: the next request tries again.
        facts.catch(() => {
          if (cached?.facts === facts) cached = null;
        });
      }
      const facts = await cached.facts;
      return {
        ...facts,
        uptimeSeconds: Math.round(uptime()),
        listen: [...(options.listening?.() ?? [])],
      };
    },
  };
}

/** systeminformation, loaded on the first reading (the Box page), not by a box nobody looks at. */
async function systemInformation() {
  return (await import('systeminformation')).default;
}

async function gather(
  options: HostFactsOptions,
  at: number,
): Promise<Omit<HostFacts, 'uptimeSeconds' | 'listen'>> {
  const si = await systemInformation();
  const [os, cpu, disks, network, accelerator] = await Promise.all([
    si.osInfo().catch(() => null),
    si.cpu().catch(() => null),
    disksOf(options.dataDir),
    interfaces(),
    options.accelerator ? options.accelerator().catch(() => null) : Promise.resolve(null),
  ]);
  const logical = cpus();
  return {
    hostname: os?.hostname || hostname(),
    os: {
      distro: os?.distro ?? '',
      release: os?.release ?? '',
      kernel: os?.kernel ?? '',
      arch: os?.arch ?? process.arch,
    },
    cpu: {
      model: logical[0]?.model.trim() || [cpu?.manufacturer, cpu?.brand].filter(Boolean).join(' '),
      cores: logical.length,
      physicalCores: cpu && cpu.physicalCores > 0 ? cpu.physicalCores : null,
    },
    memoryTotalBytes: totalmem(),
    disks,
    network,
    accelerator,
    checkedAt: new Date(at).toISOString(),
  };
}

/**
 * The mounted file systems systeminformation lists, plus the data directory's own when it is not
 * among them (statfs always answers for it, and the device tells whether it is).
 */
async function disksOf(dataDir: string): Promise<DiskFact[]> {
  const directory = await realpath(dataDir).catch(() => dataDir);
  const si = await systemInformation();
  const mounts = await si.fsSize().catch(() => []);
  const containing = mountContaining(
    mounts.map((mount) => mount.mount),
    directory,
  );
  // A file system systeminformation leaves out (a tmpfs) must not pass for the one mounted above it.
  const holder =
    containing !== null && (await isSameDevice(containing, directory)) ? containing : null;
  const disks: DiskFact[] = mounts
    .filter((mount) => mount.size > 0)
    .map((mount) => ({
      mount: mount.mount,
      filesystem: mount.fs,
      type: mount.type,
      sizeBytes: mount.size,
      usedBytes: mount.used,
      freeBytes: mount.available,
      holdsDataDir: mount.mount === holder,
    }));
  if (!disks.some((disk) => disk.holdsDataDir)) {
    const info = await statfs(directory);
    disks.push({
      mount: directory,
      filesystem: '',
      type: '',
      sizeBytes: info.blocks * info.bsize,
      usedBytes: (info.blocks - info.bfree) * info.bsize,
      freeBytes: info.bavail * info.bsize,
      holdsDataDir: true,
    });
  }
  return disks;
}

async function isSameDevice(first: string, second: string): Promise<boolean> {
  const [a, b] = await Promise.all([stat(first), stat(second)]).catch(() => [null, null]);
  return a !== null && b !== null && a.dev === b.dev;
}

/** The mount point with the longest path that contains `directory`, if any. */
export function mountContaining(mounts: readonly string[], directory: string): string | null {
  let best: string | null = null;
  for (const mount of mounts) {
    const root = mount.endsWith(sep) ? mount : `${mount}${sep}`;
    const isInside = directory === mount || `${directory}${sep}`.startsWith(root);
    if (isInside && (best === null || mount.length > best.length)) best = mount;
  }
  return best;
}

/**
 * Every interface systeminformation or node:os knows (node:os lists only those with addresses):
 * node:os gives every address, systeminformation whether the link is up and if it is virtual.
 */
async function interfaces(): Promise<InterfaceFact[]> {
  const si = await systemInformation();
  const described = new Map(
    (await si.networkInterfaces().catch(() => [])).map((iface) => [iface.iface, iface]),
  );
  const withAddresses = networkInterfaces();
  const names = [...new Set([...Object.keys(withAddresses), ...described.keys()])];
  return names.map((name) => {
    const addresses = withAddresses[name] ?? [];
    const info = described.get(name);
    const mac =
      addresses.find((address) => address.mac !== '00:00:00:00:00:00')?.mac ?? (info?.mac || null);
    const internal = addresses.some((address) => address.internal) || info?.internal === true;
    return {
      name,
      addresses: addresses.map((address) => address.cidr ?? address.address),
      mac,
      // Loopback reports "unknown" yet is always up.
      up: info
        ? info.operstate === 'up' || (internal && addresses.length > 0)
        : addresses.length > 0,
      internal,
      virtual: info?.virtual === true,
    };
  });
}

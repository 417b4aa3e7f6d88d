import { existsSync } from 'node:fs';
import { readFile, realpath, statfs } from 'node:fs/promises';
import { visibleToAll } from '../domain/access.ts';
import { domainEvent, type DomainEvent } from '../domain/events.ts';
import { isValidMetricName, type HistoryRecorder } from '../store/history.ts';
import { mountContaining } from './facts.ts';
import { cpuTemperature, mountPoints } from './sensors.ts';

/**
 * Host metrics. CPU, memory and network come straight from the kernel's /proc files, one read
 * each: every 10 s, for as long as the box runs, a sample must cost next to nothing (asking
 * systeminformation for them spawned a shell and several commands per interface each time);
 * the temperature and the data disk's mount come from sysfs and mountinfo. Every figure is either
 * measured or null ("not available"): a host without a temperature sensor reports null, never a
 * guess, and rates need two samples, so the first sample has none.
 */

/** Byte counters of the counted interfaces, kept between samples to turn them into rates. */
export interface NetworkCounters {
  timeMs: number;
  rxBytes: number;
  txBytes: number;
}

export interface HostSample {
  timeMs: number;
  /** Busy share of all CPUs since the previous sample, 0–100. */
  cpuPercent: number | null;
  /** Memory in use (total minus available: caches the kernel can drop do not count). */
  memory: { usedBytes: number; totalBytes: number } | null;
  /** The file system holding the data directory. */
  disk: { mount: string; usedBytes: number; totalBytes: number } | null;
  /** Physical interfaces (no loopback, bridge, tap or veth), summed, bytes per second. */
  network: {
    rxBytesPerSecond: number | null;
    txBytesPerSecond: number | null;
    counters: NetworkCounters;
  } | null;
  /** The CPU package temperature in °C when the host exposes a sensor. */
  temperatureCelsius: number | null;
}

/** One VM's use, from libvirt (CPU time delta between two reads, and the domain's memory). */
export interface VmUsage {
  vmId: string;
  cpuPercent: number | null;
  memoryMiB: number | null;
}

export type VmUsageSource = () => Promise<VmUsage[]>;

export interface SampleHostOptions {
  dataDir: string;
  /** The counters of the previous sample; without them the rates are null. */
  previous?: NetworkCounters | null;
  now?: () => number;
}

/** Reads the host once; each part that fails or is missing becomes null on its own. */
export async function sampleHost(options: SampleHostOptions): Promise<HostSample> {
  const timeMs = (options.now ?? Date.now)();
  const [load, memory, disk, network, temperature] = await Promise.all([
    cpuBusyPercent().catch(() => null),
    memoryInUse().catch(() => null),
    diskOf(options.dataDir).catch(() => null),
    networkCounters(timeMs).catch(() => null),
    temperatureReading(),
  ]);
  return {
    timeMs,
    cpuPercent: load,
    memory,
    disk,
    network: network && {
      rxBytesPerSecond: rate(options.previous, network, 'rxBytes'),
      txBytesPerSecond: rate(options.previous, network, 'txBytes'),
      counters: network,
    },
    temperatureCelsius: temperature ? sensorReading(temperature.main, temperature.max) : null,
  };
}

/** The history values of a sample, by metric name; null stays null. */
export function hostMetricValues(sample: HostSample): Record<string, number | null> {
  return {
    'host.cpu': sample.cpuPercent,
    'host.memory.used': sample.memory?.usedBytes ?? null,
    'host.disk.used': sample.disk?.usedBytes ?? null,
    'host.net.rx': sample.network?.rxBytesPerSecond ?? null,
    'host.net.tx': sample.network?.txBytesPerSecond ?? null,
    'host.temperature': sample.temperatureCelsius,
  };
}

/** The history values of the VMs, by metric name; a VM id unfit for a metric name is left out. */
export function vmMetricValues(usage: readonly VmUsage[]): Record<string, number | null> {
  const values: Record<string, number | null> = {};
  for (const vm of usage) {
    if (!isValidMetricName(`vm.${vm.vmId}.memory`)) continue;
    values[`vm.${vm.vmId}.cpu`] = vm.cpuPercent;
    values[`vm.${vm.vmId}.memory`] = vm.memoryMiB;
  }
  return values;
}

export interface MetricsSamplerOptions {
  dataDir: string;
  history: HistoryRecorder;
  /** Default 10 s, the finest resolution of the history. */
  intervalMs?: number;
  vmUsage?: VmUsageSource;
  now?: () => number;
  log?: (level: 'warn' | 'error', details: Record<string, unknown>, message: string) => void;
  /** Called once a host sample is in the history (the box view and its charts are then new). */
  onSample?: (sample: HostSample) => void;
}

/**
 * Samples the host (and the VMs, when given a source) every `intervalMs` into the history. A
 * tick that finds the previous one still running is skipped rather than queued. The latest host
 * sample is kept for the box view.
 */
export class MetricsSampler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private previous: NetworkCounters | null = null;
  private latestSample: HostSample | null = null;

  constructor(private readonly options: MetricsSamplerOptions) {}

  get latest(): HostSample | null {
    return this.latestSample;
  }

  /** Samples now, then every interval; returns the stop. */
  start(): () => Promise<void> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 10_000);
      this.timer.unref();
      void this.tick();
    }
    return () => this.stop();
  }

  /** Stops the timer and waits for a sample in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sample, recorded; resolves once it is in the history. Public for tests and the first read. */
  sampleOnce(): Promise<void> {
    if (!this.running) this.running = this.sample().finally(() => (this.running = null));
    return this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    await this.sampleOnce();
  }

  private async sample(): Promise<void> {
    const { dataDir, now } = this.options;
    try {
      const [host, vms] = await Promise.all([
        sampleHost({ dataDir, previous: this.previous, ...(now ? { now } : {}) }),
        this.vmUsage(),
      ]);
      this.previous = host.network?.counters ?? null;
      this.latestSample = host;
      await this.options.history.record(host.timeMs, {
        ...hostMetricValues(host),
        ...vmMetricValues(vms),
      });
      this.options.onSample?.(host);
    } catch (error) {
      this.options.log?.(
        'error',
        { error: (error as Error).message },
        'metrics sample not recorded',
      );
    }
  }

  private async vmUsage(): Promise<VmUsage[]> {
    if (!this.options.vmUsage) return [];
    try {
      return await this.options.vmUsage();
    } catch (error) {
      this.options.log?.('warn', { error: (error as Error).message }, 'per-VM usage not available');
      return [];
    }
  }
}

/** Where new samples are announced: the event log, or what stands for it in a test. */
export interface SampleAnnouncer {
  broadcast(event: DomainEvent): unknown;
}

/**
 * Announces each new host sample as `box.metrics` (every signed-in user may read the box's
 * metrics), so open screens refresh on it instead of polling. It is transient: a sample every
 * 10 s reaches the open streams but is neither written to the log nor kept for replay, where it
 * would crowd out the changes a reconnecting client needs.
 */
export function announceSamples(events: SampleAnnouncer): (sample: HostSample) => void {
  return (sample) => {
    events.broadcast(
      domainEvent('box.metrics', 'box', visibleToAll('system'), { timeMs: sample.timeMs }),
    );
  };
}

/** The mount with the longest path that contains the data directory. */
async function diskOf(dataDir: string): Promise<HostSample['disk']> {
  const directory = await realpath(dataDir);
  // The mount is looked up once; sizes come from statfs.
  let mount = mountOf.get(directory);
  if (mount === undefined) {
    mount = mountContaining(await mountPoints(), directory) ?? directory;
    mountOf.set(directory, mount);
  }
  const info = await statfs(directory);
  const total = info.blocks * info.bsize;
  if (!(total > 0)) return null;
  return { mount, usedBytes: (info.blocks - info.bfree) * info.bsize, totalBytes: total };
}

const mountOf = new Map<string, string>();

/** The temperature sensor; a host without one (or a sensor that fails) reads null. */
async function temperatureReading(): Promise<{ main: number | null; max: number | null } | null> {
  return cpuTemperature().catch(() => null);
}

/**
 * Physical interfaces only: bridges, taps and veths carry the VMs' traffic, which a physical
 * interface carries again on its way out. On Linux a physical one has a `device` link in sysfs.
 */
async function networkCounters(timeMs: number): Promise<NetworkCounters | null> {
  // /proc/net/dev: two header lines, then `name: rx_bytes …(8 receive fields) tx_bytes …`.
  const lines = (await readFile('/proc/net/dev', 'utf8')).split('\n').slice(2);
  const hasSysfs = existsSync('/sys/class/net');
  let rxBytes = 0;
  let txBytes = 0;
  let counted = 0;
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const iface = line.slice(0, colon).trim();
    if (hasSysfs ? !existsSync(`/sys/class/net/${iface}/device`) : iface === 'lo') continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (!isFiniteNumber(fields[0]) || !isFiniteNumber(fields[8])) continue;
    rxBytes += fields[0];
    txBytes += fields[8];
    counted += 1;
  }
  return counted === 0 ? null : { timeMs, rxBytes, txBytes };
}

/** The CPU time counters of /proc/stat at the previous sample (the first sample is measured since boot). */
let previousCpu: { busy: number; total: number } | null = null;

/** Busy share of all CPUs since the previous sample, from /proc/stat's `cpu` line (idle and iowait are not busy). */
async function cpuBusyPercent(): Promise<number | null> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return null;
  // user nice system idle iowait irq softirq steal (guest time is inside user already).
  const ticks = line.slice(4).trim().split(/\s+/).slice(0, 8).map(Number);
  if (ticks.length < 4 || !ticks.every(isFiniteNumber)) return null;
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const busy = total - ticks[3]! - (ticks[4] ?? 0);
  const since = previousCpu ?? { busy: 0, total: 0 };
  previousCpu = { busy, total };
  return total > since.total
    ? clamp(((busy - since.busy) / (total - since.total)) * 100, 0, 100)
    : null;
}

/** Memory in use: MemTotal minus MemAvailable of /proc/meminfo (caches the kernel can drop do not count). */
async function memoryInUse(): Promise<HostSample['memory']> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN);
  const total = kib('MemTotal') * 1024;
  const available = kib('MemAvailable') * 1024;
  return total > 0 && isFiniteNumber(available)
    ? { usedBytes: total - available, totalBytes: total }
    : null;
}

/** Null without a previous sample, or when a counter went back (an interface came or went). */
function rate(
  previous: NetworkCounters | null | undefined,
  current: NetworkCounters,
  key: 'rxBytes' | 'txBytes',
): number | null {
  if (!previous) return null;
  const seconds = (current.timeMs - previous.timeMs) / 1000;
  const bytes = current[key] - previous[key];
  return seconds > 0 && bytes >= 0 ? bytes / seconds : null;
}

/** A sensor that is missing or broken reads null, -1 or 0, or something no CPU survives. */
function sensorReading(...readings: Array<number | null | undefined>): number | null {
  for (const reading of readings)
    if (isFiniteNumber(reading) && reading > 0 && reading < 150) return reading;
  return null;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

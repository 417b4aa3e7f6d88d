import { closeSync, fsync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectoryDurably, syncDirectory, writeFileDurably } from './durable-json-file.ts';

/**
 * Metric history: per metric, one ring buffer per resolution, in one fixed-size binary file per
 * metric, kept outside the main document (history is not primary data: losing it loses charts,
 * never a run, a module or a user).
 *
 * File layout: a 512-byte header (JSON padded with spaces) naming the format, the metric and the
 * rings, then the rings one after another, each `slots` slots of 32 bytes:
 * `uint32 periodStartSeconds | uint32 count | float64 mean | float64 min | float64 max`
 * (little-endian). A slot whose period is not the one asked for is stale (a previous lap of the
 * ring, or a time the appliance was off) and reads as null. A slot never straddles a 512-byte
 * sector, so an in-place write leaves it old or new, not torn.
 *
 * Durability: each sample is written in place with positional writes (to the page cache, so a
 * crash of the process loses nothing); the files are fsynced in one batch every `syncIntervalMs`
 * (30 s by default) and on close. After a power cut at most the samples since the last batch are
 * lost; the files stay well-formed because the header is only ever written whole (temp file,
 * fsync, rename) and slots are independent. fsync per sample would cost more than the whole
 * write budget and wear the flash of a field box for data nobody depends on.
 */

export interface Resolution {
  name: ResolutionName;
  stepSeconds: number;
  slots: number;
}

export const resolutionNames = ['10s', '1m', '15m', '1d'] as const;
export type ResolutionName = (typeof resolutionNames)[number];

/** 10 s for an hour, 1 min for a day, 15 min for a month, 1 day for a year (UTC periods). */
export const resolutions: readonly Resolution[] = [
  { name: '10s', stepSeconds: 10, slots: 360 },
  { name: '1m', stepSeconds: 60, slots: 1440 },
  { name: '15m', stepSeconds: 900, slots: 2880 },
  { name: '1d', stepSeconds: 86_400, slots: 366 },
];

export interface HistoryPoint {
  /** Start of the period, ms since the epoch. */
  t: number;
  /** Mean of the samples in the period; null when none was available. */
  value: number | null;
  min: number | null;
  max: number | null;
}

export type HistoryLog = (
  level: 'info' | 'warn' | 'error',
  details: Record<string, unknown>,
  message: string,
) => void;

export interface HistoryOptions {
  /** Folder of the history files, e.g. `<dataDir>/history`. */
  directory: string;
  /** How often written slots are fsynced; 0 disables the timer (close still syncs). */
  syncIntervalMs?: number;
  now?: () => number;
  log?: HistoryLog;
}

/** What a metrics sampler needs: one call per sample, null meaning "not available". */
export interface HistoryRecorder {
  record(timeMs: number, values: Readonly<Record<string, number | null>>): Promise<void>;
}

const format = 'bivouac-history';
const formatVersion = 1;
const headerBytes = 512;
const slotBytes = 32;
const fileSuffix = '.hist';
const metricPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const totalSlots = resolutions.reduce((sum, resolution) => sum + resolution.slots, 0);
export const historyFileBytes = headerBytes + totalSlots * slotBytes;

/** Byte offset of each ring in a file. */
const ringOffsets = resolutions.map((_, index) =>
  resolutions
    .slice(0, index)
    .reduce((offset, resolution) => offset + resolution.slots * slotBytes, headerBytes),
);

interface Series {
  metric: string;
  path: string;
  fd: number;
  /** The whole file, mirrored: queries never touch the disk. */
  buffer: Buffer;
  view: DataView;
  isDirty: boolean;
}

export function isValidMetricName(metric: string): boolean {
  return metricPattern.test(metric) && !metric.includes('..');
}

function headerText(metric: string): string {
  const layout = resolutions.map(({ name, stepSeconds, slots }) => ({ name, stepSeconds, slots }));
  return JSON.stringify({ format, version: formatVersion, metric, slotBytes, resolutions: layout });
}

/** Metric series in ring buffers; see the file comment for the layout and durability. */
export class History implements HistoryRecorder {
  private readonly series = new Map<string, Series>();
  private readonly creating = new Map<string, Promise<Series>>();
  private readonly now: () => number;
  private readonly log: HistoryLog;
  private syncTimer: NodeJS.Timeout | undefined;
  private isClosed = false;

  private constructor(private readonly options: HistoryOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => undefined);
  }

  /** Opens every series in the folder; a corrupt file is moved aside and that series restarts empty. */
  static async open(options: HistoryOptions): Promise<History> {
    const history = new History(options);
    await history.load();
    const interval = options.syncIntervalMs ?? 30_000;
    if (interval > 0) {
      history.syncTimer = setInterval(() => void history.syncDirty(), interval);
      history.syncTimer.unref();
    }
    return history;
  }

  metrics(): string[] {
    return [...this.series.keys()].sort();
  }

  /**
   * Adds one sample of every given metric at `timeMs` to every resolution: each ring's slot for
   * the period holding `timeMs` is merged (count-weighted mean, min, max) and written in place.
   * This equals aggregating the finer ring into the coarser one, without waiting for a period to
   * close. Null (not available) adds nothing but still claims the slot, so a stale lap never
   * shows through. New series are created on demand.
   */
  async record(timeMs: number, values: Readonly<Record<string, number | null>>): Promise<void> {
    if (this.isClosed) throw new Error('history is closed');
    // Periods are stored as uint32 seconds: 1970 to 2106.
    if (!(timeMs >= 1000 && timeMs < 2 ** 32 * 1000))
      throw new Error(`sample time out of range: ${timeMs}`);
    for (const [metric, value] of Object.entries(values)) {
      const series = this.series.get(metric) ?? (await this.create(metric));
      const sample = value !== null && Number.isFinite(value) ? value : null;
      resolutions.forEach((resolution, index) =>
        this.merge(series, index, resolution, timeMs, sample),
      );
      series.isDirty = true;
    }
  }

  /**
   * The points of `metric` at `resolution` from `fromMs` to `toMs` (both default to what the
   * ring still covers up to now), one per period, oldest first; null for an unknown metric.
   */
  query(
    metric: string,
    resolution: ResolutionName,
    fromMs?: number,
    toMs?: number,
  ): HistoryPoint[] | null {
    const series = this.series.get(metric);
    if (!series) return null;
    const index = resolutions.findIndex((candidate) => candidate.name === resolution);
    const ring = resolutions[index];
    if (!ring) throw new Error(`unknown resolution ${resolution}`);
    const step = ring.stepSeconds;
    const newest = Math.floor(this.now() / 1000 / step);
    const last = Math.min(newest, toMs === undefined ? newest : Math.floor(toMs / 1000 / step));
    const oldest = newest - ring.slots + 1;
    const first = Math.max(
      oldest,
      fromMs === undefined ? oldest : Math.floor(fromMs / 1000 / step),
    );
    const points: HistoryPoint[] = [];
    for (let period = first; period <= last; period += 1) {
      const offset = ringOffsets[index]! + (period % ring.slots) * slotBytes;
      const isCurrent = series.view.getUint32(offset, true) === period * step;
      const count = isCurrent ? series.view.getUint32(offset + 4, true) : 0;
      points.push(
        count > 0
          ? {
              t: period * step * 1000,
              value: series.view.getFloat64(offset + 8, true),
              min: series.view.getFloat64(offset + 16, true),
              max: series.view.getFloat64(offset + 24, true),
            }
          : { t: period * step * 1000, value: null, min: null, max: null },
      );
    }
    return points;
  }

  /** Drops every series whose name starts with `prefix` (e.g. `vm.<id>.` once the VM is gone). */
  async forget(prefix: string): Promise<string[]> {
    const dropped: string[] = [];
    for (const series of [...this.series.values()]) {
      if (!series.metric.startsWith(prefix)) continue;
      this.series.delete(series.metric);
      closeSync(series.fd);
      await unlink(series.path).catch(() => undefined);
      dropped.push(series.metric);
    }
    if (dropped.length > 0) await syncDirectory(this.options.directory);
    return dropped.sort();
  }

  /** Total bytes of the history files. */
  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const series of this.series.values()) total += (await stat(series.path)).size;
    return total;
  }

  /** Fsyncs what was written, stops the timer and closes the files. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    for (const series of this.series.values()) {
      try {
        if (series.isDirty) fsyncSync(series.fd);
      } catch (error) {
        this.log(
          'warn',
          { metric: series.metric, error: (error as Error).message },
          'history sync failed',
        );
      }
      closeSync(series.fd);
    }
    this.series.clear();
  }

  /** Fsyncs every file written since the last sync; failures are logged (history is not primary data). */
  async syncDirty(): Promise<void> {
    const dirty = [...this.series.values()].filter((series) => series.isDirty);
    await Promise.all(
      dirty.map(
        (series) =>
          new Promise<void>((done) => {
            series.isDirty = false;
            fsync(series.fd, (error) => {
              if (error)
                this.log(
                  'warn',
                  { metric: series.metric, error: error.message },
                  'history sync failed',
                );
              done();
            });
          }),
      ),
    );
  }

  private merge(
    series: Series,
    index: number,
    ring: Resolution,
    timeMs: number,
    sample: number | null,
  ): void {
    const periodStart = Math.floor(timeMs / 1000 / ring.stepSeconds) * ring.stepSeconds;
    const offset =
      ringOffsets[index]! + ((periodStart / ring.stepSeconds) % ring.slots) * slotBytes;
    const view = series.view;
    const isSamePeriod = view.getUint32(offset, true) === periodStart;
    const count = isSamePeriod ? view.getUint32(offset + 4, true) : 0;
    if (isSamePeriod && sample === null) return;
    view.setUint32(offset, periodStart, true);
    if (sample === null) {
      view.setUint32(offset + 4, 0, true);
      view.setFloat64(offset + 8, 0, true);
      view.setFloat64(offset + 16, 0, true);
      view.setFloat64(offset + 24, 0, true);
    } else if (count === 0) {
      view.setUint32(offset + 4, 1, true);
      view.setFloat64(offset + 8, sample, true);
      view.setFloat64(offset + 16, sample, true);
      view.setFloat64(offset + 24, sample, true);
    } else {
      const mean = view.getFloat64(offset + 8, true);
      view.setUint32(offset + 4, count + 1, true);
      view.setFloat64(offset + 8, mean + (sample - mean) / (count + 1), true);
      view.setFloat64(offset + 16, Math.min(view.getFloat64(offset + 16, true), sample), true);
      view.setFloat64(offset + 24, Math.max(view.getFloat64(offset + 24, true), sample), true);
    }
    writeSync(series.fd, series.buffer, offset, slotBytes, offset);
  }

  private async load(): Promise<void> {
    await makeDirectoryDurably(this.options.directory);
    for (const name of (await readdir(this.options.directory)).sort()) {
      const path = join(this.options.directory, name);
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (!name.endsWith(fileSuffix)) continue;
      const metric = name.slice(0, -fileSuffix.length);
      const problem = isValidMetricName(metric)
        ? await this.openSeries(metric, path)
        : 'invalid metric name';
      if (problem !== null) await this.moveAside(metric, path, problem);
    }
  }

  /** Opens and checks one file; returns what is wrong with it, or null once it is loaded. */
  private async openSeries(metric: string, path: string): Promise<string | null> {
    const fd = openSync(path, 'r+');
    const buffer = Buffer.alloc(historyFileBytes);
    let problem: string | null;
    try {
      const size = (await stat(path)).size;
      if (size !== historyFileBytes) problem = `size ${size}, expected ${historyFileBytes}`;
      else if (readSync(fd, buffer, 0, historyFileBytes, 0) !== historyFileBytes)
        problem = 'short read';
      else if (buffer.subarray(0, headerBytes).toString('utf8').trimEnd() !== headerText(metric))
        problem = 'unexpected header';
      else problem = findBadSlot(viewOf(buffer));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (problem !== null) {
      closeSync(fd);
      return problem;
    }
    this.series.set(metric, { metric, path, fd, buffer, view: viewOf(buffer), isDirty: false });
    return null;
  }

  private async moveAside(metric: string, path: string, problem: string): Promise<void> {
    const aside = `${path}.corrupt-${this.now()}`;
    await rename(path, aside);
    this.log(
      'error',
      { metric, file: path, movedTo: aside, problem },
      'corrupt history file moved aside; the series starts empty',
    );
  }

  private create(metric: string): Promise<Series> {
    const pending = this.creating.get(metric);
    if (pending) return pending;
    const creation = this.createFile(metric).finally(() => this.creating.delete(metric));
    this.creating.set(metric, creation);
    return creation;
  }

  /** A new series file: header plus zeroed rings, written whole and durably before first use. */
  private async createFile(metric: string): Promise<Series> {
    if (!isValidMetricName(metric))
      throw new Error(`invalid metric name ${JSON.stringify(metric)}`);
    const path = join(this.options.directory, `${metric}${fileSuffix}`);
    const buffer = Buffer.alloc(historyFileBytes);
    buffer.fill(' ', 0, headerBytes);
    buffer.write(headerText(metric), 0, 'utf8');
    await writeFileDurably(path, buffer);
    if (this.isClosed) throw new Error('history is closed');
    const series: Series = {
      metric,
      path,
      fd: openSync(path, 'r+'),
      buffer,
      view: viewOf(buffer),
      isDirty: false,
    };
    this.series.set(metric, series);
    return series;
  }
}

function viewOf(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The first slot that no write of ours could have produced, described; null when all are sound. */
function findBadSlot(view: DataView): string | null {
  for (const [index, ring] of resolutions.entries()) {
    for (let slot = 0; slot < ring.slots; slot += 1) {
      const offset = ringOffsets[index]! + slot * slotBytes;
      const periodStart = view.getUint32(offset, true);
      if (periodStart === 0) continue;
      const isAligned =
        periodStart % ring.stepSeconds === 0 &&
        (periodStart / ring.stepSeconds) % ring.slots === slot;
      const count = view.getUint32(offset + 4, true);
      const values = [8, 16, 24].map((at) => view.getFloat64(offset + at, true));
      if (!isAligned || (count > 0 && !values.every(Number.isFinite)))
        return `bad slot ${slot} of ring ${ring.name}`;
    }
  }
  return null;
}

import { closeSync, fsync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectoryDurably, syncDirectory, writeFileDurably } from './durable-json-file.ts';
import {
  emptyHistoryFile,
  historyFileBytes,
  historyFileProblem,
  mergeSample,
  readPoint,
  resolutions,
  slotBytes,
  viewOf,
  type HistoryPoint,
  type ResolutionName,
} from './history-file.ts';

/**
 * Metric history: per metric, one ring buffer per resolution, in one fixed-size binary file per
 * metric (its layout in history-file.ts), kept outside the main document (history is not primary
 * data: losing it loses charts, never a run, a module or a user).
 *
 * Durability: each sample is written in place with positional writes (to the page cache, so a
 * crash of the process loses nothing); the files are fsynced in one batch every `syncIntervalMs`
 * (30 s by default) and on close. After a power cut at most the samples since the last batch are
 * lost; the files stay well-formed because the header is only ever written whole (temp file,
 * fsync, rename) and slots are independent. fsync per sample would cost more than the whole
 * write budget and wear the flash of a field box for data nobody depends on.
 */

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

const fileSuffix = '.hist';
const metricPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

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
      resolutions.forEach((resolution, index) => {
        const offset = mergeSample(series.view, index, resolution, timeMs, sample);
        if (offset !== null) writeSync(series.fd, series.buffer, offset, slotBytes, offset);
      });
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
    for (let period = first; period <= last; period += 1)
      points.push(readPoint(series.view, index, ring, period));
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
      else problem = historyFileProblem(metric, buffer);
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
    const buffer = emptyHistoryFile(metric);
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

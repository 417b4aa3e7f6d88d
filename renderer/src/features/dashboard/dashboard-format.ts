/**
 * The dashboard's pure parts: figures written for people, capacity shares for the meters, the
 * history's ranges from the resolutions the box keeps, and what a chart needs from a series.
 */

import { formatBytes } from '../../ui/format-bytes.ts';
import type { ResourceUsage } from '../../../../appliance/src/domain/capacity.ts';

/** A transfer rate, or "not measured yet" (rates need two samples). */
export function formatRate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? 'not measured yet' : `${formatBytes(bytesPerSecond)}/s`;
}

export function formatPercent(percent: number): string {
  return `${percent < 10 && percent > 0 ? percent.toFixed(1) : Math.round(percent)} %`;
}

/** The units capacity and history figures come in. */
export type FigureUnit = 'count' | 'MiB' | 'GiB' | 'bytes' | 'bytes/s' | 'percent' | 'celsius';

/** One figure in its unit, for tables, meters and chart axes. */
export function formatFigure(value: number, unit: FigureUnit): string {
  switch (unit) {
    case 'MiB':
      return formatBytes(value * 1024 ** 2);
    case 'GiB':
      return formatBytes(value * 1024 ** 3);
    case 'bytes':
      return formatBytes(value);
    case 'bytes/s':
      return formatRate(value);
    case 'percent':
      return formatPercent(value);
    case 'celsius':
      return `${value.toFixed(1).replace(/\.0$/, '')} °C`;
    default:
      return String(Math.round(value * 100) / 100);
  }
}

/** What a capacity meter draws and says. */
export interface CapacityShare {
  /** Shares of the total, 0–100, for the bar's segments; 0 when there is no total. */
  usedPercent: number;
  reservedPercent: number;
  /** used + reserved: what the meter's value is. */
  taken: number;
  /** The sentence a screen reader hears, and the line under the bar. */
  text: string;
}

/** `part` as a share of `total`, 0–100, for a meter's bar; 0 when there is no total. */
export function percentOf(part: number, total: number | null): number {
  return total && total > 0 ? Math.min(100, (part / total) * 100) : 0;
}

/** The meter of one resource: used and reserved as shares of the total, and in words. */
export function capacityShare(usage: ResourceUsage, unit: FigureUnit): CapacityShare {
  const taken = usage.used + usage.reserved;
  const usedPercent = percentOf(usage.used, usage.total);
  const reservedPercent = Math.min(100 - usedPercent, percentOf(usage.reserved, usage.total));
  const figure = (value: number) => formatFigure(value, unit);
  const text =
    usage.total === null
      ? `${figure(usage.used)} used, ${figure(usage.reserved)} reserved, no limit of its own`
      : `${figure(usage.used)} used, ${figure(usage.reserved)} reserved, ${figure(usage.free ?? Math.max(0, usage.total - taken))} free of ${figure(usage.total)}`;
  return { usedPercent, reservedPercent, taken, text };
}

/** A resolution the history keeps, as GET /history/metrics lists it. */
export interface KeptResolution {
  name: string;
  stepSeconds: number;
  slots: number;
}

/** A choice of the history's range switch. */
export interface HistoryRange {
  label: 'Hour' | 'Day' | 'Week' | 'Month' | 'Year';
  resolution: string;
  stepSeconds: number;
  /** How far back the range reaches. */
  spanSeconds: number;
}

const hour = 3600;
const day = 24 * hour;
const spans: { label: HistoryRange['label']; seconds: number }[] = [
  { label: 'Hour', seconds: hour },
  { label: 'Day', seconds: day },
  { label: 'Week', seconds: 7 * day },
  { label: 'Month', seconds: 30 * day },
  { label: 'Year', seconds: 365 * day },
];

/** A chart of fewer points says little; one of more costs more than a screen can show. */
const fewestPoints = 24;
const mostPoints = 4000;

/**
 * The ranges to offer, from what the box keeps: each range is shown at the finest resolution
 * whose ring reaches back that far (a ring covers `stepSeconds × slots`) with a sensible number
 * of points. With the box's rings (10 s for an hour, 1 min for a day, 15 min for a month, 1 day
 * for a year), a week is the last seven days of the 15-minute ring. A range no ring fits is left out.
 */
export function historyRanges(resolutions: readonly KeptResolution[]): HistoryRange[] {
  const finestFirst = [...resolutions].sort((a, b) => a.stepSeconds - b.stepSeconds);
  const ranges: HistoryRange[] = [];
  for (const span of spans) {
    const ring = finestFirst.find(
      (candidate) =>
        candidate.stepSeconds * candidate.slots >= span.seconds &&
        span.seconds / candidate.stepSeconds >= fewestPoints &&
        span.seconds / candidate.stepSeconds <= mostPoints,
    );
    if (ring)
      ranges.push({
        label: span.label,
        resolution: ring.name,
        stepSeconds: ring.stepSeconds,
        spanSeconds: span.seconds,
      });
  }
  return ranges;
}

/**
 * The range the chart shows: the one chosen if the box offers it, else the shortest it offers
 * (null when it keeps no history at all), so a choice the box cannot serve never leaves the
 * chart waiting.
 */
export function chosenRange(
  ranges: readonly HistoryRange[],
  label: HistoryRange['label'],
): HistoryRange | null {
  return ranges.find((candidate) => candidate.label === label) ?? ranges[0] ?? null;
}

/** How a metric of the history is named and measured. */
export interface MetricInfo {
  label: string;
  unit: FigureUnit;
}

const hostMetrics: Record<string, MetricInfo> = {
  'host.cpu': { label: 'CPU', unit: 'percent' },
  'host.memory.used': { label: 'Memory in use', unit: 'bytes' },
  'host.disk.used': { label: 'Disk in use', unit: 'bytes' },
  'host.net.rx': { label: 'Network received', unit: 'bytes/s' },
  'host.net.tx': { label: 'Network sent', unit: 'bytes/s' },
  'host.temperature': { label: 'Temperature', unit: 'celsius' },
};

/** A metric's label and unit: the host's own, a VM's CPU (%) or memory (MiB), else as named. */
export function metricInfo(metric: string): MetricInfo {
  const known = hostMetrics[metric];
  if (known) return known;
  const vm = /^vm\.(.+)\.(cpu|memory)$/.exec(metric);
  if (vm)
    return vm[2] === 'cpu'
      ? { label: `VM ${vm[1]} CPU`, unit: 'percent' }
      : { label: `VM ${vm[1]} memory`, unit: 'MiB' };
  return { label: metric, unit: 'count' };
}

/** One point of a history series (t: start of its period, ms). */
export interface HistoryPoint {
  t: number;
  value: number | null;
  min: number | null;
  max: number | null;
}

/** Lowest, highest and latest value of a series; null when it has no sample at all. */
export function historySummary(
  points: readonly HistoryPoint[],
): { min: number; max: number; latest: number; samples: number } | null {
  const measured = points.filter(
    (point): point is HistoryPoint & { value: number } => point.value !== null,
  );
  if (measured.length === 0) return null;
  return {
    min: Math.min(...measured.map((point) => point.min ?? point.value)),
    max: Math.max(...measured.map((point) => point.max ?? point.value)),
    latest: measured[measured.length - 1]!.value,
    samples: measured.length,
  };
}

/** uPlot's columns: x in seconds, then the mean (null: a gap in the line). */
export function chartColumns(points: readonly HistoryPoint[]): [number[], (number | null)[]] {
  return [points.map((point) => point.t / 1000), points.map((point) => point.value)];
}

/**
 * Whether a sample taken at `sampleMs` adds a point the loaded series does not show yet: it
 * opens a newer period, or lands in the newest one while that is still empty. Only then is the
 * series asked for again, so a year's chart does not reload every 10 s.
 */
export function isNewToSeries(
  points: readonly HistoryPoint[],
  sampleMs: number,
  stepSeconds: number,
): boolean {
  const newest = points[points.length - 1];
  if (!newest) return true;
  const step = stepSeconds * 1000;
  const period = Math.floor(sampleMs / step);
  const newestPeriod = Math.floor(newest.t / step);
  return period > newestPeriod || (period === newestPeriod && newest.value === null);
}

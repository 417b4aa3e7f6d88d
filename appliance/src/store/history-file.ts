/**
 * The binary layout of one metric's history file (history.ts keeps the files and their
 * durability): a 512-byte header (JSON padded with spaces) naming the format, the metric and the
 * rings, then the rings one after another, each `slots` slots of 32 bytes:
 * `uint32 periodStartSeconds | uint32 count | float64 mean | float64 min | float64 max`
 * (little-endian). A slot whose period is not the one asked for is stale (a previous lap of the
 * ring, or a time the appliance was off) and reads as null. A slot never straddles a 512-byte
 * sector, so an in-place write leaves it old or new, not torn.
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

const format = 'bivouac-history';
const formatVersion = 1;
const headerBytes = 512;
/** The bytes of one slot, the most one sample writes to one ring. */
export const slotBytes = 32;
const totalSlots = resolutions.reduce((sum, resolution) => sum + resolution.slots, 0);
export const historyFileBytes = headerBytes + totalSlots * slotBytes;

/** Byte offset of each ring in a file. */
const ringOffsets = resolutions.map((_, index) =>
  resolutions
    .slice(0, index)
    .reduce((offset, resolution) => offset + resolution.slots * slotBytes, headerBytes),
);

function headerText(metric: string): string {
  const layout = resolutions.map(({ name, stepSeconds, slots }) => ({ name, stepSeconds, slots }));
  return JSON.stringify({ format, version: formatVersion, metric, slotBytes, resolutions: layout });
}

export function viewOf(buffer: Buffer): DataView {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A new file's whole content: the header plus zeroed rings. */
export function emptyHistoryFile(metric: string): Buffer {
  const buffer = Buffer.alloc(historyFileBytes);
  buffer.fill(' ', 0, headerBytes);
  buffer.write(headerText(metric), 0, 'utf8');
  return buffer;
}

/** What is wrong with a file read whole (its header, then its slots), or null when it is sound. */
export function historyFileProblem(metric: string, buffer: Buffer): string | null {
  if (buffer.subarray(0, headerBytes).toString('utf8').trimEnd() !== headerText(metric))
    return 'unexpected header';
  return findBadSlot(viewOf(buffer));
}

/**
 * Merges a sample into ring `index`'s slot for the period holding `timeMs` (count-weighted mean,
 * min, max); null claims the slot empty. Returns the offset of the slot it changed, or null when
 * nothing changed.
 */
export function mergeSample(
  view: DataView,
  index: number,
  ring: Resolution,
  timeMs: number,
  sample: number | null,
): number | null {
  const periodStart = Math.floor(timeMs / 1000 / ring.stepSeconds) * ring.stepSeconds;
  const offset = ringOffsets[index]! + ((periodStart / ring.stepSeconds) % ring.slots) * slotBytes;
  const isSamePeriod = view.getUint32(offset, true) === periodStart;
  const count = isSamePeriod ? view.getUint32(offset + 4, true) : 0;
  if (isSamePeriod && sample === null) return null;
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
  return offset;
}

/** The point of `period` (in steps of ring `index`) as its slot holds it; null values when stale. */
export function readPoint(
  view: DataView,
  index: number,
  ring: Resolution,
  period: number,
): HistoryPoint {
  const step = ring.stepSeconds;
  const offset = ringOffsets[index]! + (period % ring.slots) * slotBytes;
  const isCurrent = view.getUint32(offset, true) === period * step;
  const count = isCurrent ? view.getUint32(offset + 4, true) : 0;
  return count > 0
    ? {
        t: period * step * 1000,
        value: view.getFloat64(offset + 8, true),
        min: view.getFloat64(offset + 16, true),
        max: view.getFloat64(offset + 24, true),
      }
    : { t: period * step * 1000, value: null, min: null, max: null };
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

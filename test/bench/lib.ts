/**
 * What every benchmark shares: the one-line figure format, percentiles, and target checks.
 * A figure is one stdout line `BENCH {"name","value","unit","target"}`; the runner reads them back.
 */

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  /** A bound such as "<1500" or ">=3000"; null for a figure reported for context only. */
  target: string | null;
}

const prefix = 'BENCH ';
/** How a value JSON cannot hold is written, so the runner can name the figure that went wrong. */
const nonFinite = ['NaN', 'Infinity', '-Infinity'];

/**
 * Prints one figure as its own stdout line with its raw value: the runner compares that, and
 * rounds only for display. NaN and ±Infinity are written as strings (JSON has no such numbers),
 * so they reach the runner and count as missed instead of vanishing.
 */
export function emit(name: string, value: number, unit: string, target: string | null): void {
  const written = Number.isFinite(value) ? value : String(value);
  process.stdout.write(`${prefix}${JSON.stringify({ name, value: written, unit, target })}\n`);
}

/** What a stdout line holds: not a BENCH line (null), a figure, or a BENCH line that cannot be read. */
export type BenchLine = { figure: BenchFigure } | { unreadable: string };

/** Reads one stdout line. A BENCH line the runner cannot read is kept, so it counts as missed. */
export function parseBenchLine(line: string): BenchLine | null {
  if (!line.startsWith(prefix)) return null;
  let parsed: Partial<Record<keyof BenchFigure, unknown>>;
  try {
    parsed = JSON.parse(line.slice(prefix.length)) as Partial<Record<keyof BenchFigure, unknown>>;
  } catch {
    return { unreadable: line };
  }
  const value =
    typeof parsed.value === 'number'
      ? parsed.value
      : typeof parsed.value === 'string' && nonFinite.includes(parsed.value)
        ? Number(parsed.value)
        : null;
  if (
    typeof parsed.name !== 'string' ||
    value === null ||
    typeof parsed.unit !== 'string' ||
    (parsed.target !== null && typeof parsed.target !== 'string')
  )
    return { unreadable: line };
  return {
    figure: {
      name: parsed.name,
      value,
      unit: parsed.unit,
      target: typeof parsed.target === 'string' ? parsed.target : null,
    },
  };
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

const targetPattern = /^(<=|>=|<|>|=)\s*(-?\d+(?:\.\d+)?)$/;

/** Whether `value` meets `target` ("<1500", ">=3000", …); throws on a target it cannot read. */
export function meetsTarget(value: number, target: string): boolean {
  const match = targetPattern.exec(target.trim());
  if (!match) throw new Error(`unreadable target "${target}"`);
  const bound = Number(match[2]);
  switch (match[1]) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    default:
      return value === bound;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

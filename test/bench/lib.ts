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

/** Prints one figure as its own stdout line (value rounded to two decimals). */
export function emit(name: string, value: number, unit: string, target: string | null): void {
  const figure: BenchFigure = { name, value: Math.round(value * 100) / 100, unit, target };
  process.stdout.write(`${prefix}${JSON.stringify(figure)}\n`);
}

/** The figure on a stdout line, or null when the line is not a BENCH line. */
export function parseFigure(line: string): BenchFigure | null {
  if (!line.startsWith(prefix)) return null;
  try {
    const parsed = JSON.parse(line.slice(prefix.length)) as Partial<BenchFigure>;
    if (
      typeof parsed.name !== 'string' ||
      typeof parsed.value !== 'number' ||
      typeof parsed.unit !== 'string'
    )
      return null;
    return {
      name: parsed.name,
      value: parsed.value,
      unit: parsed.unit,
      target: typeof parsed.target === 'string' ? parsed.target : null,
    };
  } catch {
    return null;
  }
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

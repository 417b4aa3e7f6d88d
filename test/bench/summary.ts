/**
 * The bench runner's verdict, apart from running anything so it can be tested
 * (test/unit/bench-summary.test.ts): which figures met their target, which were missed, which
 * benches crashed, checked against the figures each bench declares (figures.ts).
 */
import { meetsTarget, type BenchFigure } from './lib.ts';

/** What one bench process left behind. */
export interface BenchResult {
  /** The bench file name without `.bench.ts`. */
  name: string;
  figures: BenchFigure[];
  /** BENCH lines that could not be read. */
  unreadable: string[];
  /** Why the bench counts as crashed (exit code, signal, time-out), or null when it exited 0. */
  failure: string | null;
}

export interface Summary {
  /** The summary's lines, in order, the last one the counts. */
  lines: string[];
  met: number;
  /** Targets not met, plus every figure counted in `absent`. */
  missed: number;
  /** Declared figures not printed, NaN or ±Infinity, and unreadable BENCH lines: a bench's fault, not a slow box. */
  absent: number;
  crashed: number;
  /** Figures printed but not declared, or printed twice, and benches with no declaration. */
  errors: number;
}

/** A value for reading: two decimals, unless rounding would hide why it missed or met its target. */
export function displayValue(value: number, target: string | null): string {
  const rounded = Math.round(value * 100) / 100;
  if (target === null || !Number.isFinite(value)) return String(rounded);
  try {
    return meetsTarget(rounded, target) === meetsTarget(value, target)
      ? String(rounded)
      : String(value);
  } catch {
    return String(value);
  }
}

/** Whether a finite value meets its target; an unreadable target counts as missed, so a typo cannot pass. */
function verdict(figure: BenchFigure, target: string): { isMet: boolean; note: string } {
  try {
    return { isMet: meetsTarget(figure.value, target), note: '' };
  } catch (error) {
    return { isMet: false, note: ` (${(error as Error).message})` };
  }
}

/**
 * Judges the benches' results against the declared figures. The values are compared as printed
 * (raw); only the lines round them.
 */
export function summarise(
  results: readonly BenchResult[],
  declared: Readonly<Record<string, readonly string[]>>,
): Summary {
  const summary: Summary = { lines: [], met: 0, missed: 0, absent: 0, crashed: 0, errors: 0 };
  const line = (text: string) => summary.lines.push(text);
  const absent = (text: string) => {
    summary.missed += 1;
    summary.absent += 1;
    line(`MISSED ${text}`);
  };
  for (const result of results) {
    const names = declared[result.name];
    if (!names) {
      summary.errors += 1;
      line(`ERROR ${result.name} declares no figures in test/bench/figures.ts`);
    }
    const seen = new Set<string>();
    for (const figure of result.figures) {
      if (seen.has(figure.name)) {
        summary.errors += 1;
        line(`ERROR ${result.name} printed ${figure.name} more than once`);
        continue;
      }
      seen.add(figure.name);
      if (names && !names.includes(figure.name)) {
        summary.errors += 1;
        line(
          `ERROR ${result.name} printed ${figure.name}, which is not declared in test/bench/figures.ts`,
        );
        continue;
      }
      const shown = `${figure.name} ${displayValue(figure.value, figure.target)} ${figure.unit}`;
      if (!Number.isFinite(figure.value)) {
        absent(`${shown}${figure.target === null ? '' : ` ${figure.target}`} (not a number)`);
        continue;
      }
      if (figure.target === null) continue;
      const { isMet, note } = verdict(figure, figure.target);
      if (isMet) summary.met += 1;
      else summary.missed += 1;
      line(`${isMet ? 'MET' : 'MISSED'} ${shown} ${figure.target}${note}`);
    }
    for (const unreadable of result.unreadable)
      absent(`${result.name}: unreadable line ${unreadable}`);
    const notPrinted = (names ?? []).filter((name) => !seen.has(name));
    if (result.failure) {
      summary.crashed += 1;
      line(
        `CRASHED ${result.name} ${result.failure}${notPrinted.length > 0 ? `; not printed: ${notPrinted.join(', ')}` : ''}`,
      );
    } else for (const name of notPrinted) absent(`${name} not printed by ${result.name}`);
  }
  line(
    `${summary.met} met, ${summary.missed} missed, ${summary.crashed} crashed, ${summary.errors} errors (${results.length} benchmarks)`,
  );
  return summary;
}

/**
 * Whether the run fails: a crash, an error, or a figure missing or not a number always fails it;
 * a target missed fails it unless `isFailOnMiss` is off (`--no-fail`).
 */
export function isFailedRun(summary: Summary, isFailOnMiss: boolean): boolean {
  return (
    summary.crashed > 0 ||
    summary.errors > 0 ||
    summary.absent > 0 ||
    (isFailOnMiss && summary.missed > 0)
  );
}

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { declaredFigures } from '../bench/figures.ts';
import { emit, parseBenchLine, type BenchFigure } from '../bench/lib.ts';
import { displayValue, isFailedRun, summarise, type BenchResult } from '../bench/summary.ts';

const benchDir = fileURLToPath(new URL('../bench/', import.meta.url));

/** The BENCH line emit() writes for these arguments. */
function emitted(name: string, value: number, target: string | null): string {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  emit(name, value, 'ms', target);
  const line = String(write.mock.calls[0]![0]).trimEnd();
  write.mockRestore();
  return line;
}

/** The figure a bench printing this value would hand the runner, read back from its line. */
function printed(name: string, value: number, target: string | null): BenchFigure {
  const read = parseBenchLine(emitted(name, value, target));
  if (!read || !('figure' in read)) throw new Error(`unreadable: ${JSON.stringify(read)}`);
  return read.figure;
}

function result(
  name: string,
  figures: BenchFigure[],
  failure: string | null = null,
  unreadable: string[] = [],
): BenchResult {
  return { name, figures, unreadable, failure };
}

const declared = { speed: ['speed-p99', 'speed-context'] };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a figure on its way from a bench to the summary', () => {
  it('keeps the raw value: 2999.996 req/s misses >=3000', () => {
    expect(printed('speed-p99', 2999.996, '>=3000').value).toBe(2999.996);
    const summary = summarise(
      [
        result('speed', [
          printed('speed-p99', 2999.996, '>=3000'),
          printed('speed-context', 1, null),
        ]),
      ],
      declared,
    );
    expect(summary).toMatchObject({ met: 0, missed: 1 });
    // Shown unrounded, since 3000 would read as met.
    expect(summary.lines).toContain('MISSED speed-p99 2999.996 ms >=3000');
  });

  it('rounds only for display, where rounding does not flip the verdict', () => {
    expect(displayValue(12.3456, '<20')).toBe('12.35');
    expect(displayValue(19.996, '<20')).toBe('19.996');
    expect(displayValue(12.3456, null)).toBe('12.35');
  });

  it('counts a NaN or Infinity figure as missed, whatever its target, and fails the run even with --no-fail', () => {
    const figures = [
      printed('speed-p99', Number.NaN, '<50'),
      printed('speed-context', Number.POSITIVE_INFINITY, null),
    ];
    expect(figures.map((figure) => figure.value)).toEqual([Number.NaN, Number.POSITIVE_INFINITY]);
    const summary = summarise([result('speed', figures)], declared);
    expect(summary).toMatchObject({ met: 0, missed: 2, absent: 2 });
    expect(summary.lines.filter((line) => line.startsWith('MISSED'))).toHaveLength(2);
    expect(isFailedRun(summary, false)).toBe(true);
  });

  it('counts a BENCH line it cannot read as missed', () => {
    expect(
      parseBenchLine('BENCH {"name":"speed-p99","value":null,"unit":"ms","target":"<50"}'),
    ).toEqual({ unreadable: expect.any(String) });
    expect(parseBenchLine('BENCH {not json')).toEqual({ unreadable: 'BENCH {not json' });
    expect(parseBenchLine('some other output')).toBeNull();
    const summary = summarise(
      [
        result(
          'speed',
          [printed('speed-p99', 10, '<50'), printed('speed-context', 1, null)],
          null,
          ['BENCH {not json'],
        ),
      ],
      declared,
    );
    expect(summary).toMatchObject({ met: 1, missed: 1, absent: 1 });
    expect(isFailedRun(summary, false)).toBe(true);
  });
});

describe('the declared figures', () => {
  it('reports a declared figure a cleanly exiting bench did not print as missed', () => {
    const summary = summarise([result('speed', [printed('speed-p99', 10, '<50')])], declared);
    expect(summary).toMatchObject({ met: 1, missed: 1, absent: 1, crashed: 0 });
    expect(summary.lines).toContain('MISSED speed-context not printed by speed');
    expect(isFailedRun(summary, false)).toBe(true);
  });

  it('reports a bench that crashed as crashed, naming the figures it did not print', () => {
    const summary = summarise(
      [result('speed', [printed('speed-p99', 10, '<50')], 'exit code 1')],
      declared,
    );
    expect(summary).toMatchObject({ met: 1, crashed: 1 });
    expect(summary.lines).toContain('CRASHED speed exit code 1; not printed: speed-context');
    expect(isFailedRun(summary, false)).toBe(true);
  });

  it('reports a figure printed but not declared, or printed twice, as an error', () => {
    const all = [printed('speed-p99', 10, '<50'), printed('speed-context', 1, null)];
    const undeclared = summarise(
      [result('speed', [...all, printed('speed-p50', 5, '<50')])],
      declared,
    );
    expect(undeclared).toMatchObject({ met: 1, errors: 1 });
    expect(undeclared.lines.join('\n')).toContain('speed-p50, which is not declared');
    expect(
      summarise([result('speed', [...all, printed('speed-p99', 70, '<50')])], declared),
    ).toMatchObject({ met: 1, missed: 0, errors: 1 });
    expect(isFailedRun(undeclared, false)).toBe(true);
  });

  it('reports a bench missing from the manifest as an error', () => {
    const summary = summarise([result('new-bench', [printed('new-figure', 1, null)])], declared);
    expect(summary.errors).toBeGreaterThan(0);
    expect(isFailedRun(summary, false)).toBe(true);
  });

  it('passes a run whose declared figures all printed and met their targets; --no-fail forgives only missed targets', () => {
    const fine = summarise(
      [result('speed', [printed('speed-p99', 10, '<50'), printed('speed-context', 1, null)])],
      declared,
    );
    expect(fine).toMatchObject({ met: 1, missed: 0, absent: 0, crashed: 0, errors: 0 });
    expect(fine.lines.at(-1)).toBe('1 met, 0 missed, 0 crashed, 0 errors (1 benchmarks)');
    expect(isFailedRun(fine, true)).toBe(false);
    const slow = summarise(
      [result('speed', [printed('speed-p99', 70, '<50'), printed('speed-context', 1, null)])],
      declared,
    );
    expect(isFailedRun(slow, true)).toBe(true);
    expect(isFailedRun(slow, false)).toBe(false);
  });

  it('declares every bench file and every figure name a bench prints literally', async () => {
    const benches = (await readdir(benchDir)).filter((file) => file.endsWith('.bench.ts'));
    for (const file of benches) {
      const name = file.slice(0, -'.bench.ts'.length);
      expect(Object.keys(declaredFigures), file).toContain(name);
      const source = await readFile(join(benchDir, file), 'utf8');
      for (const match of source.matchAll(/\bemit\(\s*'([^']+)'/g))
        expect(declaredFigures[name], `${file} prints ${match[1]}`).toContain(match[1]);
    }
  });
});

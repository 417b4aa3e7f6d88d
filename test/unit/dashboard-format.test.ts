import { describe, expect, it } from 'vitest';
import { resolutions } from '../../appliance/src/store/history-file.ts';
import {
  capacityShare,
  chartColumns,
  chosenRange,
  formatFigure,
  formatPercent,
  formatRate,
  historyRanges,
  historySummary,
  isNewToSeries,
  metricInfo,
  percentOf,
  type HistoryPoint,
} from '../../renderer/src/features/dashboard/dashboard-format.ts';
import { formatBytes } from '../../renderer/src/ui/format-bytes.ts';

const point = (t: number, value: number | null, min = value, max = value): HistoryPoint => ({
  t,
  value,
  min,
  max,
});

describe('dashboard figures', () => {
  it('writes bytes in binary units with at most one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(16 * 1024 ** 3)).toBe('16 GiB');
    expect(formatBytes(15.64 * 1024 ** 3)).toBe('15.6 GiB');
    expect(formatBytes(250.4 * 1024 ** 2)).toBe('250 MiB');
    expect(formatBytes(-5)).toBe('0 B');
  });

  it('writes rates, percentages, temperatures and capacity units', () => {
    expect(formatRate(null)).toBe('not measured yet');
    expect(formatRate(2048)).toBe('2 KiB/s');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(3.25)).toBe('3.3 %');
    expect(formatPercent(42.6)).toBe('43 %');
    expect(formatFigure(512, 'MiB')).toBe('512 MiB');
    expect(formatFigure(2048, 'MiB')).toBe('2 GiB');
    expect(formatFigure(20, 'GiB')).toBe('20 GiB');
    expect(formatFigure(48.04, 'celsius')).toBe('48 °C');
    expect(formatFigure(3, 'count')).toBe('3');
  });
});

describe('capacity meters', () => {
  it('splits the bar into used and reserved shares and says used, reserved and free of the total', () => {
    const share = capacityShare({ total: 8, used: 2, reserved: 1, free: 5 }, 'count');
    expect(share).toEqual({
      usedPercent: 25,
      reservedPercent: 12.5,
      taken: 3,
      text: '2 used, 1 reserved, 5 free of 8',
    });
    expect(capacityShare({ total: 4096, used: 1024, reserved: 0, free: 3072 }, 'MiB').text).toBe(
      '1 GiB used, 0 B reserved, 3 GiB free of 4 GiB',
    );
  });

  it('never draws past the end, and says so when a resource has no limit of its own', () => {
    const over = capacityShare({ total: 4, used: 3, reserved: 3, free: 0 }, 'count');
    expect(over.usedPercent + over.reservedPercent).toBe(100);
    const unlimited = capacityShare({ total: null, used: 2, reserved: 0, free: null }, 'count');
    expect(unlimited.usedPercent).toBe(0);
    expect(unlimited.text).toBe('2 used, 0 reserved, no limit of its own');
  });
});

describe('history ranges', () => {
  it('offers hour, day, week, month and year from the rings the box keeps', () => {
    expect(historyRanges(resolutions).map((range) => [range.label, range.resolution])).toEqual([
      ['Hour', '10s'],
      ['Day', '1m'],
      ['Week', '15m'],
      ['Month', '15m'],
      ['Year', '1d'],
    ]);
    expect(historyRanges(resolutions).find((range) => range.label === 'Week')?.spanSeconds).toBe(
      7 * 86_400,
    );
  });

  it('leaves out a range no ring reaches back to, and does not chart a year in 10 s steps', () => {
    expect(
      historyRanges([{ name: '10s', stepSeconds: 10, slots: 360 }]).map((range) => range.label),
    ).toEqual(['Hour']);
    expect(
      historyRanges([{ name: 'fine', stepSeconds: 10, slots: 4_000_000 }]).map(
        (range) => range.label,
      ),
    ).toEqual(['Hour']);
    expect(
      historyRanges([
        { name: '10s', stepSeconds: 10, slots: 360 },
        { name: '1d', stepSeconds: 86_400, slots: 366 },
      ]).map((range) => [range.label, range.resolution]),
    ).toEqual([
      ['Hour', '10s'],
      ['Month', '1d'],
      ['Year', '1d'],
    ]);
    expect(historyRanges([])).toEqual([]);
  });

  it('names metrics with their units', () => {
    expect(metricInfo('host.cpu')).toEqual({ label: 'CPU', unit: 'percent' });
    expect(metricInfo('host.net.rx')).toEqual({ label: 'Network received', unit: 'bytes/s' });
    expect(metricInfo('vm.abc_1.memory')).toEqual({ label: 'VM abc_1 memory', unit: 'MiB' });
    expect(metricInfo('vm.abc_1.cpu')).toEqual({ label: 'VM abc_1 CPU', unit: 'percent' });
    expect(metricInfo('other.thing')).toEqual({ label: 'other.thing', unit: 'count' });
  });
});

describe('history series', () => {
  it('sums a series up from its measured points, and has nothing to say of an empty one', () => {
    expect(historySummary([point(0, null), point(10_000, null)])).toBeNull();
    expect(historySummary([])).toBeNull();
    expect(
      historySummary([point(0, 20, 10, 30), point(10_000, null), point(20_000, 40, 35, 55)]),
    ).toEqual({ min: 10, max: 55, latest: 40, samples: 2 });
  });

  it('gives uPlot seconds and keeps the gaps', () => {
    expect(chartColumns([point(10_000, 1), point(20_000, null)])).toEqual([
      [10, 20],
      [1, null],
    ]);
  });

  it('reloads a series only for a sample that adds a point to it', () => {
    const minute = [point(60_000, 5), point(120_000, 6)];
    expect(isNewToSeries(minute, 150_000, 60)).toBe(false); // same minute, already measured
    expect(isNewToSeries(minute, 180_000, 60)).toBe(true); // a new minute
    expect(isNewToSeries([point(60_000, 5), point(120_000, null)], 130_000, 60)).toBe(true);
    expect(isNewToSeries([], 130_000, 60)).toBe(true);
    const year = [point(0, 1), point(86_400_000, 2)];
    expect(isNewToSeries(year, 86_400_000 + 3_600_000, 86_400)).toBe(false);
  });
});

describe('the range the chart shows', () => {
  const ranges = historyRanges(resolutions);
  it('is the one chosen when the box offers it', () => {
    expect(chosenRange(ranges, 'Day')?.label).toBe('Day');
  });
  it('falls back to the shortest offered range when the choice is not offered, so the chart never waits for nothing', () => {
    const withoutWeek = ranges.filter((range) => range.label !== 'Week');
    expect(chosenRange(withoutWeek, 'Week')).toEqual(withoutWeek[0]);
    expect(chosenRange([], 'Hour')).toBeNull();
  });
});

describe('shares for meters', () => {
  it('is a percentage of the total, capped at 100, and 0 without a total', () => {
    expect(percentOf(1, 4)).toBe(25);
    expect(percentOf(5, 4)).toBe(100);
    expect(percentOf(1, 0)).toBe(0);
    expect(percentOf(1, null)).toBe(0);
  });
});

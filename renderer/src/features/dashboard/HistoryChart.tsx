import { useEffect, useRef, useState } from 'react';
import type uPlot from 'uplot';
import {
  chartColumns,
  formatFigure,
  type HistoryPoint,
  type MetricInfo,
} from './dashboard-format.ts';

/** uPlot and its stylesheet, fetched the first time a chart is drawn (never by the first screen). */
function loadChartLibrary(): Promise<typeof uPlot> {
  return Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(
    ([library]) => library.default,
  );
}

const chartHeight = 220;

/** The theme's colours as the page's stylesheet sets them for light or dark. */
function themeColours(element: Element): { line: string; axis: string; grid: string } {
  const style = getComputedStyle(element);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    line: read('--accent', '#2f6f4f'),
    axis: read('--muted', '#5b625e'),
    grid: read('--line', '#d9d6cc'),
  };
}

/**
 * One metric's history as a line (gaps where nothing was measured), drawn with uPlot into a
 * canvas that follows the container's width and the light or dark theme. The chart is made once
 * per metric and theme and destroyed when it goes; new points only replace its data. The figures
 * a screen reader needs are in the caption the caller gives.
 */
export function HistoryChart({
  points,
  info,
  label,
}: {
  points: readonly HistoryPoint[];
  info: MetricInfo;
  label: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  // The latest points, for a chart that is made after they arrived.
  const latestPoints = useRef(points);
  const [failure, setFailure] = useState<string | null>(null);
  const [theme, setTheme] = useState(0);
  const { label: seriesLabel, unit } = info;

  useEffect(() => {
    const dark = matchMedia('(prefers-color-scheme: dark)');
    const changed = () => setTheme((count) => count + 1);
    dark.addEventListener('change', changed);
    return () => dark.removeEventListener('change', changed);
  }, []);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let isDisposed = false;
    const resize = new ResizeObserver(() => {
      chart.current?.setSize({ width: Math.max(200, element.clientWidth), height: chartHeight });
    });
    loadChartLibrary().then(
      (UPlot) => {
        if (isDisposed) return;
        const colours = themeColours(element);
        const axis = {
          stroke: colours.axis,
          grid: { stroke: colours.grid, width: 1 },
          ticks: { stroke: colours.grid, width: 1 },
        };
        chart.current = new UPlot(
          {
            width: Math.max(200, element.clientWidth),
            height: chartHeight,
            legend: { show: false },
            cursor: { drag: { x: false, y: false } },
            scales: { x: { time: true } },
            axes: [
              axis,
              {
                ...axis,
                size: 80,
                values: (_chart, ticks) => ticks.map((tick) => formatFigure(tick, unit)),
              },
            ],
            series: [
              {},
              {
                label: seriesLabel,
                stroke: colours.line,
                width: 2,
                spanGaps: false,
                ...(/^#[0-9a-f]{6}$/i.test(colours.line) ? { fill: `${colours.line}22` } : {}),
              },
            ],
          },
          chartColumns(latestPoints.current) as uPlot.AlignedData,
          element,
        );
        resize.observe(element);
        setFailure(null);
      },
      (error: unknown) => setFailure(`The chart could not be drawn: ${(error as Error).message}`),
    );
    return () => {
      isDisposed = true;
      resize.disconnect();
      chart.current?.destroy();
      chart.current = null;
    };
  }, [seriesLabel, unit, theme]);

  useEffect(() => {
    latestPoints.current = points;
    chart.current?.setData(chartColumns(points) as uPlot.AlignedData);
  }, [points]);

  return (
    <>
      <div ref={container} className="history-chart" role="img" aria-label={label} />
      {failure && <p className="error">{failure}</p>}
    </>
  );
}

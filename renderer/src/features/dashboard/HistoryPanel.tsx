import { lazySection } from '../../ui/lazy-page.tsx';
import { Suspense, useCallback, useMemo } from 'react';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import {
  chosenRange,
  formatFigure,
  historyRanges,
  historySummary,
  isNewToSeries,
  metricInfo,
} from './dashboard-format.ts';
import { useDashboard } from './dashboard-store.ts';

// The chart brings uPlot with it: both load when the history is first shown.
const HistoryChart = lazySection(() => import('./HistoryChart.tsx'), 'HistoryChart');

/** A metric's history over an hour, day, week, month or year, redrawn as new periods fill. */
export function HistoryPanel() {
  const index = useDashboard((state) => state.historyIndex);
  const history = useDashboard((state) => state.history);
  const metric = useDashboard((state) => state.metric);
  const range = useDashboard((state) => state.range);
  const choose = useDashboard((state) => state.choose);
  const loadIndex = useDashboard((state) => state.loadHistoryIndex);
  const loadHistory = useDashboard((state) => state.loadHistory);
  const resolutions = index.value?.resolutions;
  const ranges = useMemo(() => historyRanges(resolutions ?? []), [resolutions]);
  const metrics = index.value?.metrics ?? [];
  const hasMetric = metrics.includes(metric);

  // The index is asked again with every sample and when a VM goes: a VM's metrics join the
  // history with the first sample after it starts, and leave with it.
  useLiveLoad(loadIndex, (event) => event.type === 'box.metrics' || event.type === 'vm.gone');
  const chosen = chosenRange(ranges, range);
  const chosenLabel = chosen?.label ?? null;
  // A new choice makes a new loader, which loads at once; samples reload it when they add a point.
  const load = useCallback(
    () => (hasMetric && chosenLabel !== null ? loadHistory() : Promise.resolve()),
    [loadHistory, metric, chosenLabel, hasMetric],
  );
  useLiveLoad(load, (event) => {
    if (event.type !== 'box.metrics') return false;
    const series = useDashboard.getState().history.value;
    return !series || isNewToSeries(series.points, event.data.timeMs, series.stepSeconds);
  });

  const info = useMemo(() => metricInfo(metric), [metric]);
  const series = hasMetric ? history.value : null;
  const summary = series ? historySummary(series.points) : null;
  const describe = (value: number) => formatFigure(value, info.unit);
  const caption =
    summary && chosen
      ? `${info.label} over the last ${chosen.label.toLowerCase()}: latest ${describe(summary.latest)}, lowest ${describe(summary.min)}, highest ${describe(summary.max)}.`
      : null;
  const keepsNoHistory = index.value !== null && ranges.length === 0;
  const isEmpty =
    index.value !== null &&
    !keepsNoHistory &&
    (!hasMetric || (series !== null && summary === null));

  return (
    <section className="panel dashboard-history" aria-labelledby="history-title">
      <div className="history-head">
        <h2 id="history-title">History</h2>
        <label className="history-metric">
          Metric
          <select value={metric} onChange={(event) => choose({ metric: event.target.value })}>
            {(hasMetric ? metrics : [metric, ...metrics]).map((name) => (
              <option key={name} value={name}>
                {metricInfo(name).label}
              </option>
            ))}
          </select>
        </label>
        <div className="range-switch" role="group" aria-label="Range">
          {ranges.map((candidate) => (
            <button
              key={candidate.label}
              type="button"
              className="range-option"
              aria-pressed={candidate.label === chosen?.label}
              title={`${candidate.resolution} steps`}
              onClick={() => choose({ range: candidate.label })}
            >
              {candidate.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorText error={index.error ?? history.error} />
      <figure className="history-figure">
        {keepsNoHistory ? (
          <p className="history-empty" role="status">
            The box keeps no history to chart yet.
          </p>
        ) : isEmpty ? (
          <p className="history-empty" role="status">
            No samples yet for {info.label.toLowerCase()} over this range.
          </p>
        ) : summary && series && chosen ? (
          <Suspense fallback={<p role="status">Loading the chart…</p>}>
            <HistoryChart points={series.points} info={info} label={caption ?? info.label} />
          </Suspense>
        ) : (
          !index.error && !history.error && <p role="status">Loading…</p>
        )}
        {caption && <figcaption>{caption}</figcaption>}
      </figure>
    </section>
  );
}

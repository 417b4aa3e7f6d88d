import { create } from 'zustand';
import type { RouteInput, RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { runStates, type RunState } from '../../../../appliance/src/domain/run-states.ts';
import { ApiError, call } from '../../api/client.ts';
import { historyRanges, type HistoryRange } from './dashboard-format.ts';

export type Capacity = RouteOutput<'getCapacity'>;
export type BoxMetrics = RouteOutput<'boxMetrics'>;
export type Cloud = RouteOutput<'listClouds'>[number];
export type HistoryIndex = RouteOutput<'historyIndex'>;
export type HistorySeries = RouteOutput<'getHistory'>;
export type RunCounts = Record<RunState, number>;

/** One part of the dashboard: the last answer, or the error that stands in its place. */
export interface Loaded<T> {
  value: T | null;
  error: ApiError | null;
}

type Part = 'capacity' | 'metrics' | 'runCounts' | 'clouds' | 'historyIndex' | 'history';

interface DashboardState {
  capacity: Loaded<Capacity>;
  metrics: Loaded<BoxMetrics>;
  runCounts: Loaded<RunCounts>;
  clouds: Loaded<Cloud[]>;
  historyIndex: Loaded<HistoryIndex>;
  /** The chart's series: null while none is loaded for the current choice. */
  history: Loaded<HistorySeries>;
  /** The chart's choice: which metric, over which range. */
  metric: string;
  range: HistoryRange['label'];
  loadCapacity(): Promise<void>;
  loadMetrics(): Promise<void>;
  loadRunCounts(): Promise<void>;
  loadClouds(): Promise<void>;
  loadHistoryIndex(): Promise<void>;
  loadHistory(): Promise<void>;
  choose(change: { metric?: string; range?: HistoryRange['label'] }): void;
}

const empty = { value: null, error: null };

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, 'INTERNAL', (error as Error).message);
}

/** Runs per state: one count-only page per state (the list's `total`), asked for together. */
async function countRuns(): Promise<RunCounts> {
  const totals = await Promise.all(
    runStates.map((state) => call('listRuns', { query: { state, limit: 1, offset: 0 } })),
  );
  return Object.fromEntries(
    runStates.map((state, index) => [state, totals[index]!.total]),
  ) as RunCounts;
}

/** Capacity, host metrics, runs by state, cloud health and the history chart, fed by the event stream. */
export const useDashboard = create<DashboardState>((set, get) => {
  /** Loads one part; a failure keeps the last answer beside the error. */
  async function fill<K extends Part>(
    part: K,
    load: () => Promise<DashboardState[K]['value']>,
  ): Promise<void> {
    try {
      const value = await load();
      set({ [part]: { value, error: null } } as unknown as Partial<DashboardState>);
    } catch (error) {
      set(
        (state) =>
          ({
            [part]: { value: state[part].value, error: asApiError(error) },
          }) as unknown as Partial<DashboardState>,
      );
    }
  }
  return {
    capacity: empty,
    metrics: empty,
    runCounts: empty,
    clouds: empty,
    historyIndex: empty,
    history: empty,
    metric: 'host.cpu',
    range: 'Hour',
    loadCapacity: () => fill('capacity', () => call('getCapacity')),
    loadMetrics: () => fill('metrics', () => call('boxMetrics')),
    loadRunCounts: () => fill('runCounts', countRuns),
    loadClouds: () => fill('clouds', () => call('listClouds')),
    loadHistoryIndex: () => fill('historyIndex', () => call('historyIndex')),
    async loadHistory() {
      const { metric, range: label } = get();
      const range = historyRanges(get().historyIndex.value?.resolutions ?? []).find(
        (candidate) => candidate.label === label,
      );
      if (!range) return;
      const query: RouteInput<'getHistory'>['query'] = {
        metric,
        resolution: range.resolution as RouteInput<'getHistory'>['query']['resolution'],
        from: Date.now() - range.spanSeconds * 1000,
      };
      try {
        const series = await call('getHistory', { query });
        if (get().metric === metric && get().range === label)
          set({ history: { value: series, error: null } });
      } catch (error) {
        if (get().metric === metric && get().range === label)
          set({ history: { value: null, error: asApiError(error) } });
      }
    },
    choose(change) {
      set((state) => ({ ...state, ...change, history: empty }));
    },
  };
});

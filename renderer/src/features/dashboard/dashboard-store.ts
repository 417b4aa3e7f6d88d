import { create } from 'zustand';
import type { RouteInput, RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { call } from '../../api/client.ts';
import { notLoaded, partLoader, type Loaded } from '../../api/loaded.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';
import { chosenRange, historyRanges, type HistoryRange } from './dashboard-format.ts';

export type Capacity = RouteOutput<'getCapacity'>;
export type BoxMetrics = RouteOutput<'boxMetrics'>;
export type Cloud = RouteOutput<'listClouds'>[number];
export type HistoryIndex = RouteOutput<'historyIndex'>;
export type HistorySeries = RouteOutput<'getHistory'>;
export type RunCounts = RouteOutput<'runCounts'>;

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

/** Capacity, host metrics, runs by state, cloud health and the history chart, fed by the event stream. */
export const useDashboard = forgetOnSignOut(
  create<DashboardState>((set, get) => {
    const parts = partLoader<DashboardState>(set);
    return {
      capacity: notLoaded,
      metrics: notLoaded,
      runCounts: notLoaded,
      clouds: notLoaded,
      historyIndex: notLoaded,
      history: notLoaded,
      metric: 'host.cpu',
      range: 'Hour',
      loadCapacity: () => parts.load('capacity', () => call('getCapacity')),
      loadMetrics: () => parts.load('metrics', () => call('boxMetrics')),
      loadRunCounts: () => parts.load('runCounts', () => call('runCounts')),
      loadClouds: () => parts.load('clouds', () => call('listClouds')),
      loadHistoryIndex: () => parts.load('historyIndex', () => call('historyIndex')),
      loadHistory() {
        const { metric, range: label, historyIndex } = get();
        const range = chosenRange(historyRanges(historyIndex.value?.resolutions ?? []), label);
        if (!range) return Promise.resolve();
        const query: RouteInput<'getHistory'>['query'] = {
          metric,
          resolution: range.resolution as RouteInput<'getHistory'>['query']['resolution'],
          from: Date.now() - range.spanSeconds * 1000,
        };
        return parts.load('history', () => call('getHistory', { query }));
      },
      choose(change) {
        // Answers still on their way are for the previous choice.
        parts.invalidate('history');
        set((state) => ({ ...state, ...change, history: notLoaded }));
      },
    };
  }),
);

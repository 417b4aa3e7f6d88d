import { create } from 'zustand';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { ApiError, call } from '../../api/client.ts';
import type { LiveEvent } from '../../api/events.ts';
import { progressAfter, type ProgressMap } from './import-progress.ts';

export type BoxFacts = RouteOutput<'boxFacts'>;
export type LogLine = RouteOutput<'boxLogs'>['lines'][number];
export type LogLevel = LogLine['level'];
export type Image = RouteOutput<'listImages'>[number];
export type Publisher = RouteOutput<'listPublishers'>[number];
export type BundleSource = RouteOutput<'appSources'>[number];

export { logLevels } from '../../../../appliance/src/host/log-ring.ts';

/** A part of the page: its latest answer, or the error that came instead. */
export interface Loaded<T> {
  value: T | null;
  error: ApiError | null;
}

const nothing = { value: null, error: null };

interface BoxState {
  facts: Loaded<BoxFacts>;
  logs: Loaded<LogLine[]>;
  /** The lowest level shown; '' for every line. */
  logLevel: LogLevel | '';
  images: Loaded<Image[]>;
  publishers: Loaded<Publisher[]>;
  allowUnsigned: Loaded<boolean>;
  sources: Loaded<BundleSource[]>;
  /** Image and bundle imports under way, from their events. */
  progress: ProgressMap;
  trackProgress(event: LiveEvent): void;
  forgetProgress(key: string): void;
  loadFacts(): Promise<void>;
  loadLogs(): Promise<void>;
  setLogLevel(level: LogLevel | ''): void;
  loadImages(): Promise<void>;
  loadTrust(): Promise<void>;
  loadSources(): Promise<void>;
}

/** Runs `fetch` and stores its answer or its error under `key`. */
async function into<
  K extends 'facts' | 'logs' | 'images' | 'publishers' | 'allowUnsigned' | 'sources',
>(
  set: (part: Partial<BoxState>) => void,
  key: K,
  fetch: () => Promise<BoxState[K]['value']>,
): Promise<void> {
  try {
    set({ [key]: { value: await fetch(), error: null } } as Partial<BoxState>);
  } catch (error) {
    const typed =
      error instanceof ApiError ? error : new ApiError(0, 'INTERNAL', (error as Error).message);
    set({ [key]: { value: null, error: typed } } as Partial<BoxState>);
  }
}

/** The Box page: the host's facts, its recent log lines, base images and bundle trust. */
export const useBox = create<BoxState>((set, get) => ({
  facts: nothing,
  logs: nothing,
  logLevel: '',
  images: nothing,
  publishers: nothing,
  allowUnsigned: nothing,
  sources: nothing,
  progress: {},
  trackProgress(event) {
    const progress = progressAfter(get().progress, event);
    if (progress !== get().progress) set({ progress });
  },
  forgetProgress(key) {
    const { [key]: _forgotten, ...rest } = get().progress;
    set({ progress: rest });
  },
  loadFacts: () => into(set, 'facts', () => call('boxFacts')),
  loadLogs: () => {
    const level = get().logLevel;
    return into(
      set,
      'logs',
      async () =>
        (await call('boxLogs', { query: { limit: 300, ...(level ? { level } : {}) } })).lines,
    );
  },
  setLogLevel(level) {
    set({ logLevel: level });
  },
  loadImages: () => into(set, 'images', () => call('listImages')),
  loadTrust: async () => {
    await Promise.all([
      into(set, 'publishers', () => call('listPublishers')),
      into(set, 'allowUnsigned', async () => (await call('getBundleSettings')).allowUnsigned),
    ]);
  },
  loadSources: () => into(set, 'sources', () => call('appSources')),
}));

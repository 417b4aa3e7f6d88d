import { create } from 'zustand';
import type { z } from 'zod';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { LogLevel as LogLevelSchema } from '../../../../appliance/src/api/schemas.ts';
import { call } from '../../api/client.ts';
import { notLoaded, partLoader, type Loaded } from '../../api/loaded.ts';
import type { LiveEvent } from '../../api/events.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';
import { progressAfter, type ProgressMap } from './import-progress.ts';

export type BoxFacts = RouteOutput<'boxFacts'>;
export type LogLine = RouteOutput<'boxLogs'>['lines'][number];
export type LogLevel = z.infer<typeof LogLevelSchema>;
export type Image = RouteOutput<'listImages'>[number];
export type Publisher = RouteOutput<'listPublishers'>[number];
export type BundleSource = RouteOutput<'appSources'>[number];

/** How many log lines the Box page shows. */
const shownLines = 300;

/** The levels the log filter offers, lowest first. */
export const logLevels = LogLevelSchema.options;

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
  /** A line as the box announces it (`box.log`): on top, if it is at the level shown. */
  addLogLine(line: LogLine): void;
  setLogLevel(level: LogLevel | ''): void;
  loadImages(): Promise<void>;
  loadTrust(): Promise<void>;
  loadSources(): Promise<void>;
}

/** The Box page: the host's facts, its recent log lines, base images and bundle trust. */
export const useBox = forgetOnSignOut(
  create<BoxState>((set, get) => {
    const parts = partLoader<BoxState>(set);
    return {
      facts: notLoaded,
      logs: notLoaded,
      logLevel: '',
      images: notLoaded,
      publishers: notLoaded,
      allowUnsigned: notLoaded,
      sources: notLoaded,
      progress: {},
      trackProgress(event) {
        const progress = progressAfter(get().progress, event);
        if (progress !== get().progress) set({ progress });
      },
      forgetProgress(key) {
        const { [key]: _forgotten, ...rest } = get().progress;
        set({ progress: rest });
      },
      loadFacts: () => parts.load('facts', () => call('boxFacts')),
      loadLogs: () => {
        const level = get().logLevel;
        return parts.load(
          'logs',
          async () =>
            (await call('boxLogs', { query: { limit: shownLines, ...(level ? { level } : {}) } }))
              .lines,
        );
      },
      addLogLine(line) {
        const { logs, logLevel } = get();
        if (
          !logs.value ||
          (logLevel && logLevels.indexOf(line.level) < logLevels.indexOf(logLevel))
        )
          return;
        // A load answered just now may hold it already.
        const same = (other: LogLine) =>
          other.time === line.time && other.level === line.level && other.message === line.message;
        if (logs.value.slice(0, shownLines).some(same)) return;
        set({ logs: { ...logs, value: [line, ...logs.value].slice(0, shownLines) } });
      },
      setLogLevel(level) {
        set({ logLevel: level });
      },
      loadImages: () => parts.load('images', () => call('listImages')),
      loadTrust: async () => {
        await Promise.all([
          parts.load('publishers', () => call('listPublishers')),
          parts.load('allowUnsigned', async () => (await call('getBundleSettings')).allowUnsigned),
        ]);
      },
      loadSources: () => parts.load('sources', () => call('appSources')),
    };
  }),
);

import { isEventOf } from '../../../../appliance/src/domain/events.ts';
import type { LiveEvent } from '../../api/events.ts';

/** How far an import is: bytes received of bytes announced (null when the sender did not say). */
export interface ImportProgress {
  receivedBytes: number;
  totalBytes: number | null;
}

/** Imports under way, by what they are about: `image:<id>`, or `bundle:<source>` (a path, or `upload`). */
export type ProgressMap = Readonly<Record<string, ImportProgress>>;

const ongoing = [
  'image.importing',
  'image.progress',
  'app.importing',
  'app.import.progress',
] as const;
const ended = [
  'image.ready',
  'image.failed',
  'image.deleted',
  'app.import.done',
  'app.import.failed',
] as const;

/** The key an event's progress is kept under, or null when the event is about no import. */
function keyOf(event: LiveEvent): string | null {
  if (event.subject.kind === 'image') return `image:${event.subject.id}`;
  if (
    isEventOf(event, 'app.importing', 'app.import.progress', 'app.import.done', 'app.import.failed')
  )
    return `bundle:${event.data.source}`;
  return null;
}

/**
 * The imports under way after `event`: an importing or progress event sets its entry, an end
 * (ready, done, failed, deleted) removes it; anything else leaves the map as it is. Every
 * event of a bundle install names its source, so its end is an event too: a progress event
 * arriving after the install's answer is cleared by the end that follows it on the stream.
 */
export function progressAfter(progress: ProgressMap, event: LiveEvent): ProgressMap {
  const key = keyOf(event);
  if (key === null) return progress;
  if (isEventOf(event, ...ongoing)) {
    const received = 'receivedBytes' in event.data ? event.data.receivedBytes : 0;
    const total = 'totalBytes' in event.data ? event.data.totalBytes : null;
    return {
      ...progress,
      [key]: {
        receivedBytes: Number.isFinite(received) ? received : 0,
        totalBytes: typeof total === 'number' && total > 0 ? total : null,
      },
    };
  }
  if (isEventOf(event, ...ended) && key in progress) {
    const { [key]: _ended, ...rest } = progress;
    return rest;
  }
  return progress;
}

/** Whole percent done, or null when the total is not known. */
export function percentDone(progress: ImportProgress): number | null {
  if (progress.totalBytes === null) return null;
  return Math.min(100, Math.floor((progress.receivedBytes / progress.totalBytes) * 100));
}

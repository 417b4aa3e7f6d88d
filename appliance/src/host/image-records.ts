/**
 * How the image store changes a record and tells of it: one image's record updated durably, and
 * the image events, each seen by those its type allows.
 */
import { privateTo, visibleToAll } from '../domain/access.ts';
import {
  domainEvent,
  type DomainEvent,
  type EventPayloads,
  type EventType,
  type ImageEventData,
} from '../domain/events.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument, StoredImage } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';

/**
 * An import under way and how it ended are for administrators (their messages name host paths,
 * and a checksum mismatch the file's real sha256); what the store holds is for everyone.
 */
const adminOnlyEvents = new Set<EventType>(['image.importing', 'image.progress', 'image.failed']);

type ImageEventType = Extract<EventType, `image.${string}`>;
/** What an image event adds to the image's name and status (which it may override). */
type ImageEventExtra<K extends ImageEventType> = Omit<EventPayloads[K], keyof ImageEventData> &
  Partial<ImageEventData>;

function imageEvent<K extends ImageEventType>(
  type: K,
  image: StoredImage,
  data: ImageEventExtra<K>,
): DomainEvent {
  const access = adminOnlyEvents.has(type)
    ? privateTo(image.createdBy)
    : visibleToAll(image.createdBy);
  const payload = { name: image.name, status: image.status, ...data } as EventPayloads[K];
  return domainEvent(type, image.id, access, payload);
}

/** Tells of a change of `image`; kept in the event log for replay. */
export function announceImage<K extends ImageEventType>(
  events: EventLog,
  type: K,
  image: StoredImage,
  data: ImageEventExtra<K>,
): void {
  events.append(imageEvent(type, image, data));
}

/** Progress is transient: live screens show it, the log and its replay window never hold it. */
export function reportImageProgress(
  events: EventLog,
  image: StoredImage,
  data: ImageEventExtra<'image.progress'>,
): void {
  events.broadcast(imageEvent('image.progress', image, data));
}

/** Changes one image's record durably and returns a copy of it; NOT_FOUND once it is gone. */
export async function updateImage(
  store: Store<MainDocument>,
  id: string,
  change: Partial<StoredImage>,
): Promise<StoredImage> {
  return store.update((document) => {
    const image = document.images.find((candidate) => candidate.id === id);
    if (!image)
      throw new BivouacError('NOT_FOUND', `No image with id ${id}.`, { resource: 'image', id });
    Object.assign(image, change);
    return { ...image };
  });
}

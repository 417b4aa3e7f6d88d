import { privateTo, visibleToAll } from '../domain/access.ts';
import { domainEvent, type EventPayloads } from '../domain/events.ts';
import type { EventLog } from '../store/event-log.ts';

/**
 * What the app store tells screens, and who hears it: everyone hears an app installed, published
 * or taken out; only administrators hear an import's own events and who is trusted to sign.
 */
export class AppEvents {
  constructor(private readonly events: EventLog) {}

  announce<K extends 'app.installed' | 'app.published' | 'app.unpublished'>(
    type: K,
    id: string,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, id, visibleToAll('system'), data));
  }

  /**
   * An import's own events (started, done, failed) name its source, a path on the box, and carry
   * its errors: only administrators, who import, hear them. Everyone hears `app.installed`.
   */
  announceImport<K extends 'app.importing' | 'app.import.done' | 'app.import.failed'>(
    type: K,
    source: string,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, source, privateTo('system'), data));
  }

  /** Progress is transient: live screens show it, the log and its replay window never hold it. For administrators, as the import's other events. */
  reportProgress(source: string, data: EventPayloads['app.import.progress']): void {
    this.events.broadcast(domainEvent('app.import.progress', source, privateTo('system'), data));
  }

  /** Who and what bundles are trusted is for administrators' screens only. */
  announceTrust<K extends 'publisher.trusted' | 'publisher.distrusted' | 'settings.bundles'>(
    type: K,
    id: string,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, id, privateTo('system'), data));
  }
}

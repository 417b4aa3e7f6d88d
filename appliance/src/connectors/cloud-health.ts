import type { CloudStatus } from '../domain/events.ts';
import type { StoredCloud } from '../store/document.ts';
import type { Connector } from './contract.ts';

/** How often remote clouds' health is checked in the background. */
export interface HealthCheckOptions {
  /** Between checks while an event stream is open (someone watches). */
  watchedMs: number;
  /** Between checks while nobody watches. */
  idleMs: number;
}

/** What the health checks need of the clouds (clouds.ts), each for one reason. */
export interface HealthSources {
  /** The connector a check pings; never one of a disabled cloud. */
  connector(id: string): Connector;
  /** A disabled cloud is never asked. */
  isDisabled(id: string): boolean;
  /** The remote clouds the background checks ask (the box's own reports through its daemon). */
  remote(): StoredCloud[];
  /** A cloud removed while it was asked is not brought back. */
  exists(id: string): boolean;
  /** Picks the background interval: someone watches while an event stream is open. */
  isWatched(): boolean;
  now(): Date;
}

const statusTtlMs = 5000;
const pingCapMs = 3000;

/**
 * The clouds' health: the last answer of each, asked for when someone asks (cached briefly) and,
 * for remote clouds, in the background while `watch` runs; `onChange` hears every change of
 * reachability or last error the background checks find.
 */
export class CloudHealthChecks {
  private readonly statuses = new Map<string, CloudStatus>();
  private watching: {
    options: HealthCheckOptions;
    timer: NodeJS.Timeout | null;
    running: Promise<void> | null;
  } | null = null;

  constructor(
    private readonly sources: HealthSources,
    private readonly onChange: (id: string) => void,
  ) {}

  /** The last answer of a cloud, if it was ever asked. */
  status(id: string): CloudStatus | undefined {
    return this.statuses.get(id);
  }

  /** Drops a removed cloud's last answer. */
  forget(id: string): void {
    this.statuses.delete(id);
  }

  /**
   * Checks the remote clouds' health in the background, more often while someone watches, so a
   * host that goes down (or comes back) is announced without anyone asking. Only while there is a
   * remote cloud: the box's own is checked when asked and its daemon connection reports, so an
   * appliance without remote clouds keeps no timer. Returns the stop.
   */
  watch(options: HealthCheckOptions): () => Promise<void> {
    const watching: NonNullable<CloudHealthChecks['watching']> = {
      options,
      timer: null,
      running: null,
    };
    this.watching = watching;
    this.schedule();
    return async () => {
      if (this.watching === watching) this.watching = null;
      if (watching.timer) clearTimeout(watching.timer);
      watching.timer = null;
      await watching.running;
    };
  }

  /** (Re)arms the next background check, or none when there is no remote cloud to check. */
  schedule(): void {
    const watching = this.watching;
    if (!watching || watching.running) return;
    if (watching.timer) clearTimeout(watching.timer);
    watching.timer = null;
    if (this.sources.remote().length === 0) return;
    const delay = this.sources.isWatched() ? watching.options.watchedMs : watching.options.idleMs;
    watching.timer = setTimeout(() => {
      watching.timer = null;
      watching.running = Promise.all(
        this.sources.remote().map((cloud) => this.follow(cloud.id, true)),
      ).then(() => undefined);
      void watching.running.finally(() => {
        watching.running = null;
        if (this.watching === watching) this.schedule();
      });
    }, delay);
    watching.timer.unref();
  }

  /** Checks a cloud (or uses a fresh answer) and tells `onChange` when its health changed. */
  async follow(id: string, force: boolean): Promise<void> {
    if (await this.refresh(id, force)) this.onChange(id);
  }

  /** Asks the cloud now (or uses a fresh answer); true when reachability or last error changed. */
  async refresh(id: string, force: boolean): Promise<boolean> {
    if (this.sources.isDisabled(id)) return false;
    const now = () => this.sources.now();
    const cached = this.statuses.get(id);
    if (!force && cached?.checkedAt && now().getTime() - Date.parse(cached.checkedAt) < statusTtlMs)
      return false;
    let status: CloudStatus;
    try {
      const latencyMs = await Promise.race([
        this.sources.connector(id).ping(),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error(`no answer within ${pingCapMs} ms`)),
            pingCapMs,
          ).unref(),
        ),
      ]);
      status = {
        reachable: true,
        latencyMs: Math.round(latencyMs * 10) / 10,
        lastError: null,
        checkedAt: now().toISOString(),
      };
    } catch (error) {
      status = {
        reachable: false,
        latencyMs: null,
        lastError: (error as Error).message,
        checkedAt: now().toISOString(),
      };
    }
    const previous = this.statuses.get(id);
    if (!this.sources.exists(id)) return false;
    this.statuses.set(id, status);
    return (
      previous !== undefined &&
      (previous.reachable !== status.reachable || previous.lastError !== status.lastError)
    );
  }
}

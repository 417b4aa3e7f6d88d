import { visibleToAll } from '../domain/access.ts';
import { domainEvent, type CloudStatus } from '../domain/events.ts';
import type { NativeImages } from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { MainDocument, StoredCloud } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import type { ConnectionTarget, Connector } from './contract.ts';
import type { ConnectorRegistry } from './registry.ts';

export type { CloudStatus };

export interface CloudView {
  id: string;
  name: string;
  kind: string;
  config: unknown;
  /** Who and where it connects as (administrators only); null when disabled or its kind cannot say. */
  target: ConnectionTarget | null;
  builtIn: boolean;
  /** Set when its config no longer passes the rules: the box never contacts it. */
  disabled: { reason: string } | null;
  status: CloudStatus;
}

/** A cloud the box will not contact, and why. */
export interface DisabledCloud {
  id: string;
  name: string;
  reason: string;
}

/** The box's own hypervisor: always there, never removed. */
export const boxCloudId = 'box';

/** How often remote clouds' health is checked in the background. */
export interface HealthCheckOptions {
  /** Between checks while an event stream is open (someone watches). */
  watchedMs: number;
  /** Between checks while nobody watches. */
  idleMs: number;
}

const statusTtlMs = 5000;
const pingCapMs = 3000;

/**
 * Connector instances: the box's own cloud plus those administrators add. Health is checked
 * when someone asks (listing, testing; cached briefly) and, for remote clouds, in the background
 * (`watchHealth`); every change of reachability or last error is announced as `cloud.status`.
 */
export class Clouds {
  private readonly connectors = new Map<string, Connector>();
  private readonly statuses = new Map<string, CloudStatus>();
  /** Clouds whose config did not pass the rules when checked, by id, with why. */
  private readonly refused = new Map<string, string>();
  private readonly changeListeners: (() => void)[] = [];
  private health: {
    options: HealthCheckOptions;
    timer: NodeJS.Timeout | null;
    running: Promise<void> | null;
  } | null = null;

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly registry: ConnectorRegistry,
    private readonly box: { kind: string; config: unknown; name: string },
    private readonly now: () => Date = () => new Date(),
  ) {
    this.recheck();
  }

  /**
   * Checks every cloud's config against today's rules before anything connects: clouds stored
   * by an older version (or configured before a rule tightened) may name what is now refused,
   * such as a libvirt URI with `command=`. Those are disabled: listed with the reason, never
   * contacted. Runs at construction (start-up); returns the disabled ones for the log.
   */
  recheck(): DisabledCloud[] {
    this.refused.clear();
    for (const cloud of this.all()) {
      try {
        this.registry.validateConfig(cloud.kind, cloud.config);
        this.registry.target(cloud.kind, cloud.config);
      } catch (error) {
        this.refused.set(cloud.id, refusalReason(error));
      }
    }
    return this.disabledClouds();
  }

  /** The clouds the box will not contact, with why. */
  disabledClouds(): DisabledCloud[] {
    return this.all().flatMap((cloud) => {
      const reason = this.refused.get(cloud.id);
      return reason === undefined ? [] : [{ id: cloud.id, name: cloud.name, reason }];
    });
  }

  /** Is this cloud disabled (its config refused), so nothing contacts it? */
  isDisabled(id: string): boolean {
    return this.refused.has(id);
  }

  /**
   * Throws CLOUD_DISABLED for a disabled cloud (NOT_FOUND for none), so callers say why they skip
   * it. The refusal's own words name paths and parameters of the config, so they are given only
   * `forAdministrator`; others (a run's log, an operator's deployment) are told where to look.
   */
  checkUsable(id: string, forAdministrator = false): void {
    const cloud = this.find(id);
    const reason = this.refused.get(id);
    if (reason === undefined) return;
    if (forAdministrator)
      throw new BivouacError(
        'CLOUD_DISABLED',
        `The cloud ${cloud.name} is disabled and never contacted: ${reason}`,
        { cloud: id, reason },
      );
    throw new BivouacError(
      'CLOUD_DISABLED',
      `The cloud ${cloud.name} is disabled and never contacted: its config is refused; an administrator sees why on the Clouds page.`,
      { cloud: id },
    );
  }

  /**
   * The image a node's `nativeImages` names for the kind of cloud `id` (a libvirt cloud reads
   * `nativeImages.libvirt`): how the orchestrator picks a node's image without knowing any kind.
   * Null when the node has none for that kind.
   */
  nativeImage(id: string, images: NativeImages): string | null {
    return images[this.find(id).kind]?.imageId ?? null;
  }

  /** The connector of a cloud, created on first use; never one for a disabled cloud. */
  connector(id: string): Connector {
    const existing = this.connectors.get(id);
    if (existing) return existing;
    const cloud = this.find(id);
    this.checkUsable(id);
    const created = this.registry.create(cloud.kind, cloud.config);
    this.connectors.set(id, created);
    return created;
  }

  /**
   * `text` (a failure to keep beside a run or a VM, which their owners read) with the cloud's
   * URI and host named by the cloud's name instead: only administrators see where a cloud is.
   */
  redact(id: string, text: string): string {
    const cloud = this.all().find((candidate) => candidate.id === id);
    const uri = (cloud?.config as { uri?: unknown } | undefined)?.uri;
    if (!cloud || typeof uri !== 'string' || uri === '') return text;
    const parsed = URL.canParse(uri) ? new URL(uri) : null;
    const host = parsed ? parsed.hostname.replace(/^\[(.*)\]$/, '$1') : '';
    const user = parsed ? decodeURIComponent(parsed.username) : '';
    let named = text.replaceAll(uri, cloud.name);
    // `user@host` first, so the user does not stay beside the name.
    if (host && user)
      named = named
        .replaceAll(`${user}@${host}`, cloud.name)
        .replaceAll(`${user}@${parsed!.hostname}`, cloud.name);
    return host ? named.replaceAll(host, cloud.name) : named;
  }

  /** Every usable cloud's id, the box's first; disabled clouds are left out (nothing follows them). */
  ids(): string[] {
    return this.all()
      .filter((cloud) => !this.refused.has(cloud.id))
      .map((cloud) => cloud.id);
  }

  /** Called after a cloud is added or removed (the reconciler follows the change). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async list(): Promise<CloudView[]> {
    const all = this.all();
    await Promise.all(
      all
        .filter((cloud) => !this.refused.has(cloud.id))
        .map((cloud) => this.follow(cloud.id, false)),
    );
    return all.map((cloud) => this.view(cloud));
  }

  async add(name: string, kind: string, config: unknown, actor: string): Promise<CloudView> {
    const validConfig = this.registry.validateConfig(kind, config);
    const cloud = await this.store.update((document) => {
      if (document.clouds.some((existing) => existing.name === name) || name === this.box.name) {
        throw new BivouacError(
          'CLOUD_NAME_TAKEN',
          `A cloud named "${name}" exists already; choose another name.`,
          { field: 'name' },
        );
      }
      const created: StoredCloud = {
        id: newId(),
        name,
        kind,
        config: validConfig,
        createdAt: this.now().toISOString(),
        createdBy: actor,
      };
      document.clouds.push(created);
      return created;
    });
    await this.refreshStatus(cloud.id, true);
    this.announce('cloud.added', cloud.id);
    for (const listener of this.changeListeners) listener();
    this.scheduleHealthCheck();
    return this.view(cloud);
  }

  async remove(id: string): Promise<void> {
    if (id === boxCloudId)
      throw new BivouacError('FORBIDDEN', "The box's own cloud cannot be removed.", { cloud: id });
    await this.store.update((document) => {
      const index = document.clouds.findIndex((cloud) => cloud.id === id);
      if (index < 0) throw notFound(id);
      const live = document.vms.filter((vm) => vm.cloudId === id && vm.state !== 'gone').length;
      if (live > 0)
        throw new BivouacError(
          'CLOUD_IN_USE',
          `The cloud ${document.clouds[index]!.name} still runs ${live} VM(s); terminate their runs first.`,
          { cloud: id, vms: live },
        );
      document.clouds.splice(index, 1);
    });
    await this.connectors.get(id)?.close();
    this.connectors.delete(id);
    this.statuses.delete(id);
    this.refused.delete(id);
    this.announce('cloud.removed', id);
    for (const listener of this.changeListeners) listener();
    this.scheduleHealthCheck();
  }

  /**
   * Checks the connection now, whatever the cache says. Every screen hears the answer, but only
   * a change of health is kept for replay: repeated tests must not push other changes out of the
   * replay window.
   */
  async test(id: string): Promise<CloudView> {
    const cloud = this.find(id);
    this.checkUsable(id, true);
    const changed = await this.refreshStatus(id, true);
    this.announce('cloud.status', id, changed ? 'append' : 'broadcast');
    return this.view(cloud);
  }

  /**
   * Checks the remote clouds' health in the background, more often while someone watches, so a
   * host that goes down (or comes back) is announced without anyone asking. Only while there is a
   * remote cloud: the box's own is checked when asked and its daemon connection reports, so an
   * appliance without remote clouds keeps no timer. Returns the stop.
   */
  watchHealth(options: HealthCheckOptions): () => Promise<void> {
    const health: NonNullable<Clouds['health']> = { options, timer: null, running: null };
    this.health = health;
    this.scheduleHealthCheck();
    return async () => {
      if (this.health === health) this.health = null;
      if (health.timer) clearTimeout(health.timer);
      health.timer = null;
      await health.running;
    };
  }

  async close(): Promise<void> {
    for (const connector of this.connectors.values()) await connector.close();
    this.connectors.clear();
  }

  private all(): StoredCloud[] {
    const box: StoredCloud = {
      id: boxCloudId,
      name: this.box.name,
      kind: this.box.kind,
      config: this.box.config,
      createdAt: '',
      createdBy: 'system',
    };
    return [box, ...this.store.data.clouds];
  }

  private find(id: string): StoredCloud {
    const cloud = this.all().find((candidate) => candidate.id === id);
    if (!cloud) throw notFound(id);
    return cloud;
  }

  private view(cloud: StoredCloud): CloudView {
    const reason = this.refused.get(cloud.id);
    if (reason !== undefined) {
      const status = {
        reachable: false,
        latencyMs: null,
        lastError: `Disabled, never contacted: ${reason}`,
        checkedAt: null,
      };
      return {
        id: cloud.id,
        name: cloud.name,
        kind: cloud.kind,
        config: cloud.config,
        target: null,
        builtIn: cloud.id === boxCloudId,
        disabled: { reason },
        status,
      };
    }
    const status = this.statuses.get(cloud.id) ?? {
      reachable: false,
      latencyMs: null,
      lastError: null,
      checkedAt: null,
    };
    const target = this.registry.target(cloud.kind, cloud.config);
    return {
      id: cloud.id,
      name: cloud.name,
      kind: cloud.kind,
      config: cloud.config,
      target,
      builtIn: cloud.id === boxCloudId,
      disabled: null,
      status,
    };
  }

  /** The stored clouds the box contacts. */
  private usableStored(): StoredCloud[] {
    return this.store.data.clouds.filter((cloud) => !this.refused.has(cloud.id));
  }

  /** (Re)arms the next background check, or none when there is no remote cloud to check. */
  private scheduleHealthCheck(): void {
    const health = this.health;
    if (!health || health.running) return;
    if (health.timer) clearTimeout(health.timer);
    health.timer = null;
    if (this.usableStored().length === 0) return;
    const delay = this.events.listenerCount > 0 ? health.options.watchedMs : health.options.idleMs;
    health.timer = setTimeout(() => {
      health.timer = null;
      health.running = Promise.all(
        this.usableStored().map((cloud) => this.follow(cloud.id, true)),
      ).then(() => undefined);
      void health.running.finally(() => {
        health.running = null;
        if (this.health === health) this.scheduleHealthCheck();
      });
    }, delay);
    health.timer.unref();
  }

  /** Checks a cloud (or uses a fresh answer) and announces `cloud.status` when its health changed. */
  private async follow(id: string, force: boolean): Promise<void> {
    if (await this.refreshStatus(id, force)) this.announce('cloud.status', id);
  }

  /** Asks the cloud now (or uses a fresh answer); true when reachability or last error changed. */
  private async refreshStatus(id: string, force: boolean): Promise<boolean> {
    if (this.refused.has(id)) return false;
    const cached = this.statuses.get(id);
    if (
      !force &&
      cached?.checkedAt &&
      this.now().getTime() - Date.parse(cached.checkedAt) < statusTtlMs
    )
      return false;
    let status: CloudStatus;
    try {
      const latencyMs = await Promise.race([
        this.connector(id).ping(),
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
        checkedAt: this.now().toISOString(),
      };
    } catch (error) {
      status = {
        reachable: false,
        latencyMs: null,
        lastError: (error as Error).message,
        checkedAt: this.now().toISOString(),
      };
    }
    const previous = this.statuses.get(id);
    // A cloud removed while it was asked is not brought back.
    if (id !== boxCloudId && !this.store.data.clouds.some((cloud) => cloud.id === id)) return false;
    this.statuses.set(id, status);
    return (
      previous !== undefined &&
      (previous.reachable !== status.reachable || previous.lastError !== status.lastError)
    );
  }

  /**
   * Every signed-in screen hears it, so the status goes as everyone may see it; screens reload
   * for more. `broadcast`: only the open streams hear it, nothing is kept for replay.
   */
  private announce(
    type: 'cloud.added' | 'cloud.removed' | 'cloud.status',
    id: string,
    how: 'append' | 'broadcast' = 'append',
  ): void {
    const cloud = this.all().find((candidate) => candidate.id === id);
    const status = cloud ? publicStatus(this.view(cloud)) : null;
    this.events[how](domainEvent(type, id, visibleToAll('system'), { status }));
  }
}

/**
 * A cloud's status as anyone may see it: the hypervisor's own error names hosts and users, so
 * only that there is one is said, and where an administrator finds it.
 */
export function publicStatus(view: CloudView): CloudStatus {
  const { status } = view;
  return status.lastError === null
    ? status
    : {
        ...status,
        lastError: `${view.name} does not answer; an administrator sees why on the Clouds page.`,
      };
}

/** Why a config was refused, in words for the Clouds page (fields named without the request's `body.`). */
function refusalReason(error: unknown): string {
  if (!(error instanceof BivouacError)) return (error as Error).message;
  const fields = error.details.fields;
  if (Array.isArray(fields) && fields.length > 0) {
    return (fields as { field: string; message: string }[])
      .map((problem) => `${problem.field.replace(/^body\./, '')} ${problem.message}`)
      .join('; ');
  }
  return error.message;
}

function notFound(id: string): BivouacError {
  return new BivouacError('NOT_FOUND', `No cloud with id ${id}.`, { resource: 'cloud', id });
}

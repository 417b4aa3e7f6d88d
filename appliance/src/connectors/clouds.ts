import { visibleToAll } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import type { NativeImages } from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { MainDocument, StoredCloud } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { CloudHealthChecks, type HealthCheckOptions } from './cloud-health.ts';
import {
  cloudView,
  nameInsteadOfAddress,
  publicStatus,
  refusalReason,
  type CloudView,
  type DisabledCloud,
} from './cloud-views.ts';
import type { Connector } from './contract.ts';
import type { ConnectorRegistry } from './registry.ts';

/** The box's own hypervisor: always there, never removed. */
export const boxCloudId = 'box';

/**
 * Connector instances: the box's own cloud plus those administrators add. Health is checked
 * when someone asks (listing, testing; cached briefly) and, for remote clouds, in the background
 * (`watchHealth`); every change of reachability or last error is announced as `cloud.status`.
 */
export class Clouds {
  private readonly connectors = new Map<string, Connector>();
  /** Each cloud's last answer, and the background checks of remote clouds. */
  private readonly health: CloudHealthChecks;
  /** Clouds whose config did not pass the rules when checked, by id, with why. */
  private readonly refused = new Map<string, string>();
  private readonly changeListeners: (() => void)[] = [];

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly registry: ConnectorRegistry,
    private readonly box: { kind: string; config: unknown; name: string },
    private readonly now: () => Date = () => new Date(),
  ) {
    this.health = new CloudHealthChecks(
      {
        connector: (id) => this.connector(id),
        isDisabled: (id) => this.refused.has(id),
        remote: () => this.usableStored(),
        exists: (id) =>
          id === boxCloudId || this.store.data.clouds.some((cloud) => cloud.id === id),
        isWatched: () => this.events.listenerCount > 0,
        now: () => this.now(),
      },
      (id) => this.announce('cloud.status', id),
    );
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
    return cloud ? nameInsteadOfAddress(cloud, text) : text;
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
        .map((cloud) => this.health.follow(cloud.id, false)),
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
    await this.health.refresh(cloud.id, true);
    this.announce('cloud.added', cloud.id);
    for (const listener of this.changeListeners) listener();
    this.health.schedule();
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
    this.health.forget(id);
    this.refused.delete(id);
    this.announce('cloud.removed', id);
    for (const listener of this.changeListeners) listener();
    this.health.schedule();
  }

  /**
   * Checks the connection now, whatever the cache says. Every screen hears the answer, but only
   * a change of health is kept for replay: repeated tests must not push other changes out of the
   * replay window.
   */
  async test(id: string): Promise<CloudView> {
    const cloud = this.find(id);
    this.checkUsable(id, true);
    const changed = await this.health.refresh(id, true);
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
    return this.health.watch(options);
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
    return cloudView(cloud, {
      isBuiltIn: cloud.id === boxCloudId,
      refusal: this.refused.get(cloud.id),
      status: this.health.status(cloud.id),
      target: () => this.registry.target(cloud.kind, cloud.config),
    });
  }

  /** The stored clouds the box contacts. */
  private usableStored(): StoredCloud[] {
    return this.store.data.clouds.filter((cloud) => !this.refused.has(cloud.id));
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

function notFound(id: string): BivouacError {
  return new BivouacError('NOT_FOUND', `No cloud with id ${id}.`, { resource: 'cloud', id });
}

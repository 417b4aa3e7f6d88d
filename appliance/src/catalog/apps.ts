import type { Writable } from 'node:stream';
import type { Subject } from '../domain/access.ts';
import type { AppVersion, PublisherKey, StoredApp, TrustedPublisher } from '../domain/apps.ts';
import type { StoredRun } from '../domain/runs.ts';
import type { ImageStore } from '../host/images.ts';
import type { ContentParser, Modules } from '../library/modules.ts';
import type { Reservations } from '../orchestrator/reservations.ts';
import type { Runs } from '../orchestrator/runs.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import {
  AppDeploys,
  type DeployPlacement,
  type DeployRequest,
  type Preflight,
} from './app-deploy.ts';
import { AppEvents } from './app-events.ts';
import { AppExports } from './app-export.ts';
import { AppInstaller, type Installed } from './app-install.ts';
import { AppListing } from './app-listing.ts';
import { AppPublishing, type PublishRequest } from './app-publish.ts';
import { installBuiltIn } from './built-in-apps.ts';
import { Publishers } from './publishers.ts';

// What routes name besides the facade, kept where its part defines it.
export { latestOf } from './app-listing.ts';
export type { Preflight, PreflightCheck, PreflightNode } from './app-deploy.ts';

export interface AppsOptions {
  /** `<dataDir>/apps`: assets of installed versions, staging of imports, the box's signing key. */
  directory: string;
  parseContent: ContentParser;
  /** Disk space an install leaves free (default: limits.diskReserveBytes). */
  reserveBytes?: number;
  now?: () => Date;
}

/**
 * The offline app store, the one object routes and the server call. Its work is split by what
 * changes it: the listing (app-listing.ts), trust (publishers.ts: trusted keys, unsigned bundles,
 * the box's own key), install (app-install.ts, judged by app-admission.ts; the shipped catalog in
 * built-in-apps.ts), publishing (app-publish.ts), pre-flight and deploy (app-deploy.ts), export
 * (app-export.ts); what screens hear of it is in app-events.ts.
 */
export class Apps {
  private readonly listing: AppListing;
  private readonly trusted: Publishers;
  private readonly installer: AppInstaller;
  private readonly publishing: AppPublishing;
  private readonly deploys: AppDeploys;
  private readonly exports: AppExports;

  constructor(
    private readonly store: Store<MainDocument>,
    events: EventLog,
    modules: Modules,
    images: ImageStore,
    reservations: Reservations,
    runs: Runs,
    private readonly options: AppsOptions,
  ) {
    const told = new AppEvents(events);
    const now = (): Date => (options.now ?? (() => new Date()))();
    this.listing = new AppListing(store, options.directory);
    this.trusted = new Publishers(store, told, options.directory, now);
    this.installer = new AppInstaller(store, told, modules, images, this.trusted, {
      directory: options.directory,
      parseContent: options.parseContent,
      ...(options.reserveBytes === undefined ? {} : { reserveBytes: options.reserveBytes }),
      now,
    });
    this.publishing = new AppPublishing(store, told, modules, this.trusted, now);
    this.deploys = new AppDeploys(this.listing, images, reservations, runs);
    this.exports = new AppExports(this.listing, modules, images, this.trusted, options.directory);
  }

  /** Sweeps imports a crash interrupted. */
  recover(): Promise<void> {
    return this.installer.recover();
  }

  // ---- listing (AppListing) ----

  /** See AppListing.list. */
  list(includeUnpublished = false): { app: StoredApp; latest: AppVersion }[] {
    return this.listing.list(includeUnpublished);
  }

  get(id: string): StoredApp {
    return this.listing.get(id);
  }

  /** See AppListing.assetPath. */
  assetPath(id: string, version: string, file: string): string {
    return this.listing.assetPath(id, version, file);
  }

  // ---- trust (Publishers) ----

  publishers(): readonly TrustedPublisher[] {
    return this.trusted.publishers();
  }

  /** See Publishers.trust. */
  trust(name: string, key: PublisherKey, appIds: readonly string[]): Promise<TrustedPublisher> {
    return this.trusted.trust(name, key, appIds);
  }

  distrust(keyId: string): Promise<void> {
    return this.trusted.distrust(keyId);
  }

  get allowUnsigned(): boolean {
    return this.trusted.allowUnsigned;
  }

  setAllowUnsigned(allow: boolean): Promise<void> {
    return this.trusted.setAllowUnsigned(allow);
  }

  // ---- install (AppInstaller) ----

  /** See AppInstaller.install. */
  install(...args: Parameters<AppInstaller['install']>): Promise<Installed> {
    return this.installer.install(...args);
  }

  /** Shutdown: installs still reading their bundle are abandoned (they leave nothing behind), new ones refused. */
  close(): void {
    this.installer.close();
  }

  /** See installBuiltIn (built-in-apps.ts). */
  installBuiltIn(
    sourceDir: string,
  ): Promise<{ installed: string[]; failed: { app: string; error: string }[] }> {
    return installBuiltIn(sourceDir, {
      store: this.store,
      publishers: this.trusted,
      installer: this.installer,
      directory: this.options.directory,
    });
  }

  // ---- publish (AppPublishing) ----

  /** See AppPublishing.publish. */
  publish(subject: Subject, request: PublishRequest): Promise<StoredApp> {
    return this.publishing.publish(subject, request);
  }

  setPublished(id: string, published: boolean): Promise<void> {
    return this.publishing.setPublished(id, published);
  }

  // ---- deploy (AppDeploys) ----

  /** See AppDeploys.preflight. */
  preflight(subject: Subject, id: string, request: DeployPlacement): Promise<Preflight> {
    return this.deploys.preflight(subject, id, request);
  }

  /** See AppDeploys.deploy. */
  deploy(
    subject: Subject,
    id: string,
    request: DeployRequest,
    screenId: string | null = null,
  ): Promise<StoredRun> {
    return this.deploys.deploy(subject, id, request, screenId);
  }

  // ---- export (AppExports) ----

  /** See AppExports.export. */
  export(id: string, output: Writable, withImages: boolean): Promise<void> {
    return this.exports.export(id, output, withImages);
  }
}

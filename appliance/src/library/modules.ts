import type { AclRule, Subject } from '../domain/access.ts';
import type { ModuleContent, ResolvedImage } from '../domain/modules.ts';
import type { ModuleLookup } from '../domain/module-references.ts';
import type { MainDocument, ModuleVersion } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { diffVersions } from './module-diff.ts';
import { ModuleImages } from './module-images.ts';
import { ModuleLookups, type Reach, type ReachedModule } from './module-lookups.ts';
import { ModuleManagement } from './module-manage.ts';
import { ModuleSaves, type PreparedSave } from './module-saves.ts';
import { ModuleViews, type ModuleSummary, type ModuleView } from './module-views.ts';
import { exportModules, parseModuleStream, type ContentParser } from './module-yaml.ts';

// What callers of the library name, kept where its part defines it.
export type { ModulePin, Reach, ReachedModule } from './module-lookups.ts';
export type { PreparedSave } from './module-saves.ts';
export type { ModuleSummary, ModuleView } from './module-views.ts';
export type { ContentParser } from './module-yaml.ts';

/**
 * The module tree: every save is a new immutable version (1, 2, 3… per path) with author,
 * time and message. Images are checked for inheritance (parent exists, no cycle) and
 * deployments for their mappings before a version is kept. Access is owner + ACL per module;
 * a new module starts with its project's ACL.
 *
 * Deleting hides a module but keeps its versions, and a path's version numbers are never used
 * twice: a module made again at a deleted path goes on from the highest number the path ever
 * had, its history shows only its own versions, and a pinned reference (`/p/img@2`) still finds
 * the deleted module's version, with that module's access.
 *
 * This is the one object routes, runs and the app store call; the work is split by what changes
 * it: lookups and reach (module-lookups.ts), reading (module-views.ts, secrets masked by
 * module-secrets.ts), diffs (module-diff.ts), saving versions (module-saves.ts), images as runs
 * resolve them (module-images.ts), sharing and deleting (module-manage.ts), YAML streams
 * (module-yaml.ts).
 */
export class Modules {
  private readonly lookups: ModuleLookups;
  private readonly views: ModuleViews;
  private readonly saves: ModuleSaves;
  private readonly images: ModuleImages;
  private readonly management: ModuleManagement;

  constructor(store: Store<MainDocument>, events: EventLog, now: () => Date = () => new Date()) {
    this.lookups = new ModuleLookups(store);
    this.views = new ModuleViews(store, this.lookups);
    this.saves = new ModuleSaves(store, events, this.lookups, this.views, now);
    this.images = new ModuleImages(store, this.lookups);
    this.management = new ModuleManagement(store, events, this.lookups, this.views);
  }

  // ---- following references (ModuleLookups) ----

  /** See ModuleLookups.lookupAs. */
  lookupAs(reach: Reach): ModuleLookup {
    return this.lookups.lookupAs(reach);
  }

  /** See ModuleLookups.reached. */
  reached(reach: Reach, reference: string): ReachedModule {
    return this.lookups.reached(reach, reference);
  }

  /** See ModuleLookups.pinnedContent. */
  pinnedContent(path: string, version: number): ModuleContent | null {
    return this.lookups.pinnedContent(path, version);
  }

  /** Whether a live module is at `path`, whoever may view it: for the folders the box makes itself (`/apps`). */
  exists(path: string): boolean {
    return this.lookups.find(path) !== undefined;
  }

  /** See ModuleImages.resolveImage. */
  resolveImage(reference: string, reach: Reach): ResolvedImage {
    return this.images.resolveImage(reference, reach);
  }

  // ---- reading (ModuleViews) ----

  list(subject: Subject, under = '/'): ModuleSummary[] {
    return this.views.list(subject, under);
  }

  /** See ModuleViews.get. */
  get(subject: Subject, reference: string): ModuleView {
    return this.views.get(subject, reference);
  }

  /** See ModuleViews.versions. */
  versions(subject: Subject, path: string): Omit<ModuleVersion, 'content'>[] {
    return this.views.versions(subject, path);
  }

  /** A unified diff of two versions of `path` (see diffVersions), each read as `get` reads it. */
  async diff(subject: Subject, path: string, from: number, to: number): Promise<string> {
    const a = this.get(subject, `${path}@${from}`);
    const b = this.get(subject, `${path}@${to}`);
    return diffVersions(path, a, b);
  }

  // ---- saving (ModuleSaves) ----

  /** See ModuleSaves.save. */
  save(
    subject: Subject,
    path: string,
    content: ModuleContent,
    message: string,
  ): Promise<ModuleView> {
    return this.saves.save(subject, path, content, message);
  }

  /** See ModuleSaves.prepare. */
  prepare(...args: Parameters<ModuleSaves['prepare']>): PreparedSave {
    return this.saves.prepare(...args);
  }

  // ---- managing (ModuleManagement) ----

  /** See ModuleManagement.setAcl. */
  setAcl(
    subject: Subject,
    path: string,
    acl: AclRule[],
    expected?: AclRule[],
  ): Promise<ModuleView> {
    return this.management.setAcl(subject, path, acl, expected);
  }

  /** See ModuleManagement.delete. */
  delete(subject: Subject, path: string): Promise<void> {
    return this.management.delete(subject, path);
  }

  // ---- YAML streams (module-yaml.ts) ----

  /** The latest version of every module under `path` you may view, as one YAML stream. */
  export(subject: Subject, path: string): string {
    return exportModules(this.views, subject, path);
  }

  /**
   * Saves every module of a YAML stream (as exported) as a new version each, all or nothing;
   * `parse` validates each content at the edge.
   */
  async import(
    subject: Subject,
    yamlText: string,
    message: string,
    parse: ContentParser,
  ): Promise<ModuleView[]> {
    return this.saves.saveAll(subject, parseModuleStream(yamlText, parse), message);
  }

  /** See parseModuleStream. */
  parseStream(yamlText: string, parse: ContentParser): Map<string, ModuleContent> {
    return parseModuleStream(yamlText, parse);
  }
}

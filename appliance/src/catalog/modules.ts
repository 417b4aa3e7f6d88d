import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments, stringify } from 'yaml';
import { canAccess, sameRules, type Access, type AclRule, type Action, type Subject } from '../domain/access.ts';
import {
  isValidPath,
  ModuleError,
  parseReference,
  resolveImage,
  validateDeployment,
  validateImage,
  type ModuleContent,
  type ModuleLookup,
  type Problem,
  type ResolvedImage,
} from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument, ModuleVersion, StoredModule } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';

export interface PreparedSave {
  apply(document: MainDocument): ModuleView[];
  announce(saved: ModuleView[]): void;
}

/** One version as the API shows it. */
export interface ModuleView {
  path: string;
  kind: ModuleContent['kind'];
  owner: string;
  acl: AclRule[];
  version: number;
  latestVersion: number;
  author: string;
  time: string;
  message: string;
  content: ModuleContent;
}

export interface ModuleSummary {
  path: string;
  kind: ModuleContent['kind'];
  owner: string;
  latestVersion: number;
  updatedAt: string;
  description: string | null;
}

/** Parses YAML (export/import) without trusting it: the caller validates each document. */
export type ContentParser = (value: unknown, field: string) => ModuleContent;

/**
 * The module tree: every save is a new immutable version (1, 2, 3… per module) with author,
 * time and message. Images are checked for inheritance (parent exists, no cycle) and
 * deployments for their mappings before a version is kept. Access is owner + ACL per module;
 * a new module starts with its project's ACL.
 */
export class Modules {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The lookup that domain functions resolve references with (deleted modules excluded). */
  readonly lookup: ModuleLookup = (path, version) => {
    const module = this.find(path);
    if (!module) return null;
    const found = version === null ? module.versions.at(-1) : module.versions.find((candidate) => candidate.version === version);
    return found ? { version: found.version, content: found.content } : null;
  };

  list(subject: Subject, under = '/'): ModuleSummary[] {
    const prefix = under === '/' ? '/' : `${under}/`;
    return this.store.data.modules
      .filter((module) => !module.deleted && (module.path === under || module.path.startsWith(prefix)))
      .filter((module) => canAccess(subject, module, 'view'))
      .map((module) => {
        const latest = module.versions.at(-1)!;
        return { path: module.path, kind: latest.content.kind, owner: module.owner, latestVersion: latest.version, updatedAt: latest.time, description: latest.content.description ?? null };
      })
      .sort((a, b) => a.path.localeCompare(b.path));
  }

  /** A version (`path` or `path@N`) you may view. */
  get(subject: Subject, reference: string): ModuleView {
    const parsed = this.reference(reference);
    const module = this.visible(subject, parsed.path, 'view');
    const version = parsed.version === null ? module.versions.at(-1)! : module.versions.find((candidate) => candidate.version === parsed.version);
    if (!version) {
      throw new BivouacError('NOT_FOUND', `${parsed.path} has no version ${parsed.version}; it has 1 to ${module.versions.length}.`, { resource: 'module', path: parsed.path, version: parsed.version });
    }
    return view(module, version);
  }

  versions(subject: Subject, path: string): Omit<ModuleVersion, 'content'>[] {
    return this.visible(subject, path, 'view').versions.map(({ content: _content, ...rest }) => rest);
  }

  /** A unified diff of two versions' YAML. */
  diff(subject: Subject, path: string, from: number, to: number): string {
    const a = this.get(subject, `${path}@${from}`);
    const b = this.get(subject, `${path}@${to}`);
    return createTwoFilesPatch(`${path}@${from}`, `${path}@${to}`, stringify(a.content), stringify(b.content), a.time, b.time);
  }

  /**
   * Saves a new version. A new module needs edit rights on its project (or, at the top level,
   * the operator role); an existing one needs edit rights on itself. Its kind never changes.
   */
  async save(subject: Subject, path: string, content: ModuleContent, message: string): Promise<ModuleView> {
    const [saved] = await this.saveAll(subject, new Map([[path, content]]), message);
    return saved!;
  }

  /**
   * Checks every module against the tree as it would be with all of them saved, then saves
   * them in one durable step: all or nothing.
   */
  private async saveAll(subject: Subject, pending: Map<string, ModuleContent>, message: string): Promise<ModuleView[]> {
    const prepared = this.prepare(subject, pending, message, { pin: false });
    const saved = await this.store.update((document) => prepared.apply(document));
    prepared.announce(saved);
    return saved;
  }

  /**
   * Checks a set of modules against the tree as it would be with all of them saved, and returns
   * the change to apply inside a store update (so a caller can add its own to the same durable
   * step). With `pin`, references between these modules are pinned to the versions being saved
   * and a module identical to its latest version is not saved again.
   */
  prepare(subject: Subject, pending: Map<string, ModuleContent>, message: string, options: { pin: boolean; acl?: AclRule[] }): PreparedSave {
    const paths = [...pending.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
    for (const path of paths) {
      this.authorize(subject, path, pending.get(path)!, pending);
      this.check(path, pending.get(path)!, pending);
    }
    const apply = (document: MainDocument): ModuleView[] => {
      const versionOf = new Map<string, number>();
      const contents = new Map(paths.map((path) => [path, structuredClone(pending.get(path)!)]));
      if (options.pin) {
        // Decide versions in dependency order: a module's own version depends on those it names.
        const undecided = new Set(paths);
        while (undecided.size > 0) {
          const ready = [...undecided].filter((path) => referencesOf(contents.get(path)!).every((reference) => !undecided.has(reference) || reference === path));
          for (const path of ready.length > 0 ? ready : [...undecided]) {
            const existing = document.modules.find((candidate) => candidate.path === path && !candidate.deleted);
            const latest = existing?.versions.at(-1);
            const content = pinned(contents.get(path)!, versionOf, paths, document);
            versionOf.set(path, latest && sameContent(latest.content, content) ? latest.version : (existing?.versions.length ?? 0) + 1);
            contents.set(path, content);
            undecided.delete(path);
          }
        }
      }
      return paths.map((path) => {
        let module = document.modules.find((candidate) => candidate.path === path && !candidate.deleted);
        if (!module) {
          const parentPath = path.slice(0, path.lastIndexOf('/'));
          const parent = document.modules.find((candidate) => candidate.path === parentPath && !candidate.deleted);
          module = { path, owner: subject.userId, acl: structuredClone(options.acl ?? parent?.acl ?? []), deleted: false, versions: [] };
          document.modules.push(module);
        }
        const latest = module.versions.at(-1);
        if (options.pin && latest && sameContent(latest.content, contents.get(path)!)) return view(module, latest);
        const version: ModuleVersion = { version: module.versions.length + 1, author: subject.userId, time: this.now().toISOString(), message, content: contents.get(path)! };
        module.versions.push(version);
        return view(module, version);
      });
    };
    const announce = (saved: ModuleView[]): void => {
      for (const module of saved) {
        this.events.append({ type: 'module.saved', subject: { kind: 'module', id: module.path }, access: access(module), data: { path: module.path, version: module.version, kind: module.kind } });
      }
    };
    return { apply, announce };
  }

  private authorize(subject: Subject, path: string, content: ModuleContent, pending: Map<string, ModuleContent>): void {
    if (!isValidPath(path)) throw invalid('path', `"${path}" is not a module path: /project/name, lowercase letters, digits, ".", "_", "-".`);
    const existing = this.find(path);
    const parentPath = path.slice(0, path.lastIndexOf('/')) || null;
    if (existing) {
      if (!canAccess(subject, existing, 'view')) throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
      if (!canAccess(subject, existing, 'edit')) throw forbidden(path, 'edit');
      const kind = existing.versions.at(-1)!.content.kind;
      if (kind !== content.kind) throw invalid('content.kind', `${path} is a ${kind}; a module's kind never changes (save a new module instead).`);
    } else if (parentPath) {
      const parent = this.find(parentPath);
      const parentKind = pending.get(parentPath)?.kind ?? parent?.versions.at(-1)!.content.kind;
      if (parentKind !== 'project') throw invalid('path', `${parentPath} is not a project; create the project first.`);
      if (parent && !canAccess(subject, parent, 'edit')) throw forbidden(parentPath, 'edit');
    } else if (subject.role === 'viewer') {
      throw forbidden(path, 'edit');
    }
  }

  /**
   * Replaces the module's sharing rules. With `expected` (the rules the change was made from),
   * a change made meanwhile by someone else is refused instead of overwritten. Screens showing
   * the module hear `module.shared`.
   */
  async setAcl(subject: Subject, path: string, acl: AclRule[], expected?: AclRule[]): Promise<ModuleView> {
    this.visible(subject, path, 'manage');
    const module = await this.store.update((document) => {
      const stored = document.modules.find((candidate) => candidate.path === path && !candidate.deleted)!;
      if (expected && !sameRules(stored.acl, expected)) {
        throw new BivouacError('ACL_CHANGED', `The sharing rules of ${path} were changed meanwhile; look at them again and redo your change.`, { acl: structuredClone(stored.acl) });
      }
      stored.acl = structuredClone(acl);
      return stored;
    });
    const shared = view(module, module.versions.at(-1)!);
    this.events.append({ type: 'module.shared', subject: { kind: 'module', id: path }, access: access(module), data: { path, acl: shared.acl } });
    return structuredClone(shared);
  }

  /** Hides a module (its versions stay for the runs that used them); a project must be empty. */
  async delete(subject: Subject, path: string): Promise<void> {
    const module = this.visible(subject, path, 'manage');
    if (this.store.data.modules.some((candidate) => !candidate.deleted && candidate.path.startsWith(`${path}/`))) {
      throw invalid('path', `${path} still holds modules; delete them first.`);
    }
    await this.store.update((document) => {
      const stored = document.modules.find((candidate) => candidate.path === path && !candidate.deleted);
      if (stored) stored.deleted = true;
    });
    this.events.append({ type: 'module.deleted', subject: { kind: 'module', id: path }, access: module, data: { path } });
  }

  /** An image with its parents merged, as a run resolves it. */
  resolveImage(reference: string): ResolvedImage {
    try {
      return resolveImage(reference, this.lookup);
    } catch (error) {
      if (error instanceof ModuleError) throw invalid(error.field, error.message);
      throw error;
    }
  }

  /** The latest version of every module under `path` you may view, as one YAML stream. */
  export(subject: Subject, path: string): string {
    const modules = this.list(subject, path).map((summary) => this.get(subject, summary.path));
    if (modules.length === 0) throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
    return modules.map((module) => stringify({ path: module.path, content: module.content })).join('---\n');
  }

  /**
   * Saves every module of a YAML stream (as exported) as a new version each, all or nothing;
   * `parse` validates each content at the edge.
   */
  async import(subject: Subject, yamlText: string, message: string, parse: ContentParser): Promise<ModuleView[]> {
    return this.saveAll(subject, this.parseStream(yamlText, parse), message);
  }

  /** The modules of a YAML stream (one `{ path, content }` document each), each content validated. */
  parseStream(yamlText: string, parse: ContentParser): Map<string, ModuleContent> {
    const documents = parseAllDocuments(yamlText);
    const entries = (Array.isArray(documents) ? documents : [documents]).map((document, index) => {
      if (document.errors.length > 0) throw invalid(`documents.${index}`, `YAML error: ${document.errors[0]!.message}`);
      let value: { path?: unknown; content?: unknown } | null;
      try {
        // No aliases: they are how a small YAML file expands into a huge one.
        value = document.toJS({ maxAliasCount: 0 }) as typeof value;
      } catch (error) {
        throw invalid(`documents.${index}`, `YAML refused: ${(error as Error).message}`);
      }
      if (!value || typeof value.path !== 'string' || !isValidPath(value.path)) throw invalid(`documents.${index}.path`, 'each document needs a module path');
      return { path: value.path, content: parse(value.content, `documents.${index}.content`) };
    });
    const pending = new Map<string, ModuleContent>();
    for (const entry of entries) {
      if (pending.has(entry.path)) throw invalid('documents', `${entry.path} appears twice.`);
      pending.set(entry.path, entry.content);
    }
    return pending;
  }

  private check(path: string, content: ModuleContent, pending: Map<string, ModuleContent>): void {
    // Check against the tree as it would be with the pending versions saved.
    const lookup: ModuleLookup = (candidate, version) => {
      const next = pending.get(candidate);
      if (!next) return this.lookup(candidate, version);
      const number = (this.find(candidate)?.versions.length ?? 0) + 1;
      return version === null || version === number ? { version: number, content: next } : this.lookup(candidate, version);
    };
    let problems: Problem[] = [];
    if (content.kind === 'image') {
      problems = validateImage(content).map((problem) => ({ ...problem, field: `content.${problem.field}` }));
      try {
        resolveImage(path, lookup, 'content.parent');
      } catch (error) {
        if (!(error instanceof ModuleError)) throw error;
        problems.push({ field: error.field, message: error.message });
      }
    } else if (content.kind === 'deployment') {
      problems = validateDeployment(content, lookup).map((problem) => ({ ...problem, field: `content.${problem.field}` }));
    }
    if (problems.length > 0) {
      throw new BivouacError('VALIDATION_FAILED', `${path} cannot be saved: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}.`, { fields: problems });
    }
  }

  private reference(text: string): { path: string; version: number | null } {
    try {
      return parseReference(text);
    } catch (error) {
      if (error instanceof ModuleError) throw invalid('path', error.message);
      throw error;
    }
  }

  private find(path: string): StoredModule | undefined {
    return this.store.data.modules.find((module) => module.path === path && !module.deleted);
  }

  /** The module, if it exists and `subject` may do `action`; a module you may not view does not exist for you. */
  private visible(subject: Subject, path: string, action: Action): StoredModule {
    const module = this.find(path);
    if (!module || !canAccess(subject, module, 'view')) throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
    if (!canAccess(subject, module, action)) throw forbidden(path, action);
    return module;
  }
}

/** Paths of the modules a content names (floating references only). */
function referencesOf(content: ModuleContent): string[] {
  const references = content.kind === 'image' ? [content.parent] : content.kind === 'deployment' ? content.nodes.map((node) => node.image) : [];
  return references.filter((reference): reference is string => reference !== null && !reference.includes('@'));
}

function sameContent(a: ModuleContent, b: ModuleContent): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The content with floating references to modules of the same set pinned to the versions being
 * saved (`/apps/web` → `/apps/web@3`), so an installed app always deploys what it shipped with.
 */
function pinned(content: ModuleContent, versionOf: Map<string, number>, paths: string[], document: MainDocument): ModuleContent {
  const pin = (reference: string): string => {
    if (reference.includes('@') || !paths.includes(reference)) return reference;
    const known = versionOf.get(reference);
    const fallback = (document.modules.find((module) => module.path === reference && !module.deleted)?.versions.length ?? 0) + 1;
    return `${reference}@${known ?? fallback}`;
  };
  if (content.kind === 'image') return { ...content, parent: content.parent === null ? null : pin(content.parent) };
  if (content.kind === 'deployment') return { ...content, nodes: content.nodes.map((node) => ({ ...node, image: pin(node.image) })) };
  return content;
}

function view(module: StoredModule, version: ModuleVersion): ModuleView {
  return {
    path: module.path,
    kind: version.content.kind,
    owner: module.owner,
    acl: module.acl,
    version: version.version,
    latestVersion: module.versions.length,
    author: version.author,
    time: version.time,
    message: version.message,
    content: version.content,
  };
}

function access(module: { owner: string; acl: AclRule[] }): Access {
  return { owner: module.owner, acl: module.acl };
}

function invalid(field: string, message: string): BivouacError {
  return new BivouacError('VALIDATION_FAILED', message, { fields: [{ field, message }] });
}

function forbidden(path: string, action: Action): BivouacError {
  return new BivouacError('FORBIDDEN', `You may not ${action} ${path}.`, { resource: 'module', path, action });
}

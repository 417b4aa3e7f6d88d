import { parseAllDocuments, Parser, stringify } from 'yaml';
import {
  canAccess,
  sameRules,
  type Access,
  type AclRule,
  type Action,
  type Subject,
} from '../domain/access.ts';
import { diskTooSmallMessage, findImage, leastDiskGiB } from '../domain/images.ts';
import { domainEvent } from '../domain/events.ts';
import { limits } from '../domain/limits.ts';
import {
  isValidPath,
  ModuleError,
  parseReference,
  type ModuleLookup,
} from '../domain/module-references.ts';
import { resolveImage } from '../domain/module-resolution.ts';
import { validateDeployment, validateImage, type Problem } from '../domain/module-validation.ts';
import {
  isSecret,
  maskedValue,
  type ImageContent,
  type ModuleContent,
  type ResolvedImage,
} from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument, ModuleVersion, StoredModule } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { byCodePoint } from '../domain/order.ts';

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

/** One exact module version, as an app version pins it. */
export interface ModulePin {
  path: string;
  version: number;
}

/**
 * On whose authority references are followed. A user reaches the modules they may view (and
 * run, to deploy); one they may not view is missing for them. `granted` are exact versions
 * reached on someone else's authority: an app version's pinned modules, which the administrator
 * who published or installed the app checked; a floating reference to a granted path means the
 * newest granted version of it.
 */
export interface Reach {
  subject: Subject;
  action: 'view' | 'run';
  granted?: readonly ModulePin[];
}

/** A module version as references reach it. */
export interface ReachedModule {
  path: string;
  version: number;
  content: ModuleContent;
}

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
 */
export class Modules {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The lookup domain functions resolve references with, as `reach` may follow them: a module
   * the subject may not view is missing (null, exactly like one that does not exist); one they
   * may view but not run, when deploying, is refused with FORBIDDEN. A floating reference names
   * the live module's newest version, a pinned one any version ever kept at the path.
   */
  lookupAs(reach: Reach): ModuleLookup {
    return (path, version) => {
      const grant = granted(reach, path, version);
      const held = grant === undefined ? this.held(path, version) : this.holding(path, grant);
      if (!held) return null;
      if (grant === undefined) {
        if (!canAccess(reach.subject, held.module, 'view')) return null;
        if (reach.action === 'run' && !canAccess(reach.subject, held.module, 'run'))
          throw forbidden(path, 'run');
      }
      return { version: held.version.version, content: held.version.content };
    };
  }

  /**
   * The module version a reference names, as `reach` may reach it: the top of a run or of an
   * app. Missing and not viewable answer the same NOT_FOUND as reading it would.
   */
  reached(reach: Reach, reference: string): ReachedModule {
    const parsed = this.reference(reference);
    const grant = granted(reach, parsed.path, parsed.version);
    const held = grant === undefined ? undefined : this.holding(parsed.path, grant);
    if (held)
      return { path: parsed.path, version: held.version.version, content: held.version.content };
    const { module, version } = this.visibleVersion(reach.subject, parsed);
    if (reach.action === 'run' && !canAccess(reach.subject, module, 'run'))
      throw forbidden(parsed.path, 'run');
    return { path: module.path, version: version.version, content: version.content };
  }

  /**
   * A version by its exact number, deleted or not, without access checks: for what the box
   * itself holds on its own authority (an app's pinned modules when it exports them).
   */
  pinnedContent(path: string, version: number): ModuleContent | null {
    return this.holding(path, version)?.version.content ?? null;
  }

  /** Whether a live module is at `path`, whoever may view it: for the folders the box makes itself (`/apps`). */
  exists(path: string): boolean {
    return this.find(path) !== undefined;
  }

  list(subject: Subject, under = '/'): ModuleSummary[] {
    const prefix = under === '/' ? '/' : `${under}/`;
    return this.store.data.modules
      .filter(
        (module) => !module.deleted && (module.path === under || module.path.startsWith(prefix)),
      )
      .filter((module) => canAccess(subject, module, 'view'))
      .map((module) => {
        const latest = module.versions.at(-1)!;
        return {
          path: module.path,
          kind: latest.content.kind,
          owner: module.owner,
          latestVersion: latest.version,
          updatedAt: latest.time,
          description: latest.content.description ?? null,
        };
      })
      .sort((a, b) => byCodePoint(a.path, b.path));
  }

  /**
   * A version (`path` or `path@N`) you may view. Secret input defaults and the literal values
   * given to secret inputs are masked unless you may edit the module.
   */
  get(subject: Subject, reference: string): ModuleView {
    const { module, version } = this.visibleVersion(subject, this.reference(reference));
    return this.shown(subject, module, version);
  }

  /** The live module's versions (a module made again at a deleted path starts past its numbers). */
  versions(subject: Subject, path: string): Omit<ModuleVersion, 'content'>[] {
    return this.visible(subject, path, 'view').versions.map(
      ({ content: _content, ...rest }) => rest,
    );
  }

  /**
   * A unified diff of two versions' YAML (masked as `get` masks them). Bounded: beyond
   * `limits.diffMaxEdits` changed lines or `limits.diffTimeoutMs` it gives up with
   * DIFF_TOO_LARGE instead of holding the box's one thread. The diff library is loaded on the
   * first diff asked for, not by every box.
   */
  async diff(subject: Subject, path: string, from: number, to: number): Promise<string> {
    const a = this.get(subject, `${path}@${from}`);
    const b = this.get(subject, `${path}@${to}`);
    const before = stringify(a.content);
    const after = stringify(b.content);
    const { createTwoFilesPatch } = await import('diff');
    const patch = surelyTooDifferent(before, after)
      ? undefined
      : createTwoFilesPatch(`${path}@${from}`, `${path}@${to}`, before, after, a.time, b.time, {
          maxEditLength: limits.diffMaxEdits,
          timeout: limits.diffTimeoutMs,
        });
    if (patch === undefined) {
      throw new BivouacError(
        'DIFF_TOO_LARGE',
        `${path}@${from} and @${to} are too different to show as a diff (more than ${limits.diffMaxEdits} changed lines, or more than ${limits.diffTimeoutMs} ms of work); read the two versions instead.`,
        {
          path,
          from,
          to,
          maxEdits: limits.diffMaxEdits,
          timeoutMs: limits.diffTimeoutMs,
        },
      );
    }
    return patch;
  }

  /**
   * Saves a new version. A new module needs edit rights on its project (or, at the top level,
   * the operator role); an existing one needs edit rights on itself. Its kind never changes.
   */
  async save(
    subject: Subject,
    path: string,
    content: ModuleContent,
    message: string,
  ): Promise<ModuleView> {
    const [saved] = await this.saveAll(subject, new Map([[path, content]]), message);
    return saved!;
  }

  /**
   * Checks every module against the tree as it would be with all of them saved, then saves
   * them in one durable step: all or nothing.
   */
  private async saveAll(
    subject: Subject,
    pending: Map<string, ModuleContent>,
    message: string,
  ): Promise<ModuleView[]> {
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
  prepare(
    subject: Subject,
    given: Map<string, ModuleContent>,
    message: string,
    options: { pin: boolean; acl?: AclRule[] },
  ): PreparedSave {
    const paths = [...given.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
    const pending = new Map(
      paths.map((path) => [path, this.unmasked(subject, path, given.get(path)!)]),
    );
    for (const path of paths) {
      this.authorize(subject, path, pending.get(path)!, pending);
      this.check(subject, path, pending.get(path)!, pending);
    }
    const apply = (document: MainDocument): ModuleView[] => {
      const versionOf = new Map<string, number>();
      const contents = new Map(paths.map((path) => [path, structuredClone(pending.get(path)!)]));
      if (options.pin) {
        // Decide versions in dependency order: a module's own version depends on those it names.
        const undecided = new Set(paths);
        while (undecided.size > 0) {
          const ready = [...undecided].filter((path) =>
            referencesOf(contents.get(path)!).every(
              (reference) => !undecided.has(reference) || reference === path,
            ),
          );
          for (const path of ready.length > 0 ? ready : [...undecided]) {
            const existing = document.modules.find(
              (candidate) => candidate.path === path && !candidate.deleted,
            );
            const latest = existing?.versions.at(-1);
            const content = pinned(contents.get(path)!, versionOf, paths, document);
            versionOf.set(
              path,
              latest && sameContent(latest.content, content)
                ? latest.version
                : nextNumber(document, path),
            );
            contents.set(path, content);
            undecided.delete(path);
          }
        }
      }
      return paths.map((path) => {
        let module = document.modules.find(
          (candidate) => candidate.path === path && !candidate.deleted,
        );
        if (!module) {
          const parentPath = path.slice(0, path.lastIndexOf('/'));
          const parent = document.modules.find(
            (candidate) => candidate.path === parentPath && !candidate.deleted,
          );
          module = {
            path,
            owner: subject.userId,
            acl: structuredClone(options.acl ?? parent?.acl ?? []),
            deleted: false,
            versions: [],
          };
          document.modules.push(module);
        }
        const latest = module.versions.at(-1);
        if (options.pin && latest && sameContent(latest.content, contents.get(path)!))
          return view(module, latest);
        const version: ModuleVersion = {
          version: nextNumber(document, path),
          author: subject.userId,
          time: this.now().toISOString(),
          message,
          content: contents.get(path)!,
        };
        module.versions.push(version);
        return view(module, version);
      });
    };
    const announce = (saved: ModuleView[]): void => {
      for (const module of saved) {
        this.events.append(
          domainEvent('module.saved', module.path, access(module), {
            path: module.path,
            version: module.version,
            kind: module.kind,
          }),
        );
      }
    };
    return { apply, announce };
  }

  /**
   * May `subject` save `content` at `path`? A module or project they may not view counts as
   * missing: saving under a hidden project is refused as under a missing one, not as forbidden.
   */
  private authorize(
    subject: Subject,
    path: string,
    content: ModuleContent,
    pending: Map<string, ModuleContent>,
  ): void {
    if (!isValidPath(path))
      throw invalid(
        'path',
        `"${path}" is not a module path: /project/name, lowercase letters, digits, ".", "_", "-".`,
      );
    const existing = this.find(path);
    const parentPath = path.slice(0, path.lastIndexOf('/')) || null;
    if (existing && canAccess(subject, existing, 'view')) {
      if (!canAccess(subject, existing, 'edit')) throw forbidden(path, 'edit');
      const kind = existing.versions.at(-1)!.content.kind;
      if (kind !== content.kind)
        throw invalid(
          'content.kind',
          `${path} is a ${kind}; a module's kind never changes (save a new module instead).`,
        );
      return;
    }
    if (parentPath) {
      const found = this.find(parentPath);
      const parent = found && canAccess(subject, found, 'view') ? found : undefined;
      const parentKind = pending.get(parentPath)?.kind ?? parent?.versions.at(-1)!.content.kind;
      if (parentKind !== 'project')
        throw invalid('path', `${parentPath} is not a project; create the project first.`);
      if (parent && !canAccess(subject, parent, 'edit')) throw forbidden(parentPath, 'edit');
    } else if (subject.role === 'viewer') {
      throw forbidden(path, 'edit');
    }
    // Taken by a module hidden from them (in a project they may edit): it cannot be made again.
    if (existing)
      throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
  }

  /**
   * Replaces the module's sharing rules. With `expected` (the rules the change was made from),
   * a change made meanwhile by someone else is refused instead of overwritten. Screens showing
   * the module hear `module.shared`.
   */
  async setAcl(
    subject: Subject,
    path: string,
    acl: AclRule[],
    expected?: AclRule[],
  ): Promise<ModuleView> {
    this.visible(subject, path, 'manage');
    const module = await this.store.update((document) => {
      const stored = document.modules.find(
        (candidate) => candidate.path === path && !candidate.deleted,
      )!;
      if (expected && !sameRules(stored.acl, expected)) {
        throw new BivouacError(
          'ACL_CHANGED',
          `The sharing rules of ${path} were changed meanwhile; look at them again and redo your change.`,
          { acl: structuredClone(stored.acl) },
        );
      }
      stored.acl = structuredClone(acl);
      return stored;
    });
    const shared = this.shown(subject, module, module.versions.at(-1)!);
    this.events.append(
      domainEvent('module.shared', path, access(module), { path, acl: shared.acl }),
    );
    return structuredClone(shared);
  }

  /** Hides a module (its versions stay for the runs that used them); a project must be empty. */
  async delete(subject: Subject, path: string): Promise<void> {
    const module = this.visible(subject, path, 'manage');
    if (
      this.store.data.modules.some(
        (candidate) => !candidate.deleted && candidate.path.startsWith(`${path}/`),
      )
    ) {
      throw invalid('path', `${path} still holds modules; delete them first.`);
    }
    await this.store.update((document) => {
      const stored = document.modules.find(
        (candidate) => candidate.path === path && !candidate.deleted,
      );
      if (stored) stored.deleted = true;
    });
    this.events.append(domainEvent('module.deleted', path, module, { path }));
  }

  /**
   * An image with its parents merged, as a run resolves it, following references as `reach` may.
   * To run, its disk must hold its base image: one smaller is refused with DISK_TOO_SMALL here,
   * when the run (or its pre-flight) is asked for, on every cloud, before anything is created.
   */
  resolveImage(reference: string, reach: Reach): ResolvedImage {
    let image: ResolvedImage;
    try {
      image = resolveImage(reference, this.lookupAs(reach));
    } catch (error) {
      if (error instanceof ModuleError) throw invalid(error.field, error.message);
      throw error;
    }
    if (reach.action === 'run') this.refuseDiskTooSmall(reference, image);
    return image;
  }

  private refuseDiskTooSmall(reference: string, image: ResolvedImage): void {
    // Whatever kind of cloud names it: an image the box holds is the one a launch copies.
    for (const native of Object.values(image.nativeImages))
      this.refuseBaseTooLarge(reference, image, findImage(this.store.data.images, native.imageId));
  }

  private refuseBaseTooLarge(
    reference: string,
    image: ResolvedImage,
    base: MainDocument['images'][number] | undefined,
  ): void {
    // Unknown until checked (an image stored by an older version): the launch checks the file.
    if (base?.kind !== 'disk' || base.virtualBytes === null) return;
    const baseBytes = base.virtualBytes;
    if (baseBytes <= image.resources.diskGiB * 1024 ** 3) return;
    const module = image.chain[0] ?? reference;
    throw new BivouacError(
      'DISK_TOO_SMALL',
      diskTooSmallMessage(
        `${module} (base image ${base.name})`,
        image.resources.diskGiB,
        baseBytes,
      ),
      {
        module,
        image: base.name,
        diskGiB: image.resources.diskGiB,
        baseBytes,
        neededGiB: leastDiskGiB(baseBytes),
      },
    );
  }

  /** The latest version of every module under `path` you may view, as one YAML stream. */
  export(subject: Subject, path: string): string {
    const modules = this.list(subject, path).map((summary) => this.get(subject, summary.path)); // masked as `get` masks
    if (modules.length === 0)
      throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
    return modules
      .map((module) => stringify({ path: module.path, content: module.content }))
      .join('---\n');
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
    return this.saveAll(subject, this.parseStream(yamlText, parse), message);
  }

  /** The modules of a YAML stream (one `{ path, content }` document each), each content validated. */
  parseStream(yamlText: string, parse: ContentParser): Map<string, ModuleContent> {
    refuseDeepNesting(yamlText);
    const documents = parseAllDocuments(yamlText);
    const entries = (Array.isArray(documents) ? documents : [documents]).map((document, index) => {
      if (document.errors.length > 0)
        throw invalid(`documents.${index}`, `YAML error: ${document.errors[0]!.message}`);
      let value: { path?: unknown; content?: unknown } | null;
      try {
        // No aliases: they are how a small YAML file expands into a huge one.
        value = document.toJS({ maxAliasCount: 0 }) as typeof value;
      } catch (error) {
        throw invalid(`documents.${index}`, `YAML refused: ${(error as Error).message}`);
      }
      if (!value || typeof value.path !== 'string' || !isValidPath(value.path))
        throw invalid(`documents.${index}.path`, 'each document needs a module path');
      return { path: value.path, content: parse(value.content, `documents.${index}.content`) };
    });
    const pending = new Map<string, ModuleContent>();
    for (const entry of entries) {
      if (pending.has(entry.path)) throw invalid('documents', `${entry.path} appears twice.`);
      pending.set(entry.path, entry.content);
    }
    return pending;
  }

  /**
   * Checks a module against the tree as it would be with the pending versions saved, following
   * references as `subject`: a module they may not view is reported exactly like a missing one,
   * so neither its existence nor its inputs and outputs show in the problems.
   */
  private check(
    subject: Subject,
    path: string,
    content: ModuleContent,
    pending: Map<string, ModuleContent>,
  ): void {
    const saved = this.lookupAs({ subject, action: 'view' });
    const lookup: ModuleLookup = (candidate, version) => {
      const next = pending.get(candidate);
      if (!next) return saved(candidate, version);
      const number = nextNumber(this.store.data, candidate);
      return version === null || version === number
        ? { version: number, content: next }
        : saved(candidate, version);
    };
    let problems: Problem[] = [];
    if (content.kind === 'image') {
      problems = validateImage(content).map((problem) => ({
        ...problem,
        field: `content.${problem.field}`,
      }));
      try {
        resolveImage(path, lookup, 'content.parent');
      } catch (error) {
        if (!(error instanceof ModuleError)) throw error;
        problems.push({ field: error.field, message: error.message });
      }
    } else if (content.kind === 'deployment') {
      problems = validateDeployment(content, lookup).map((problem) => ({
        ...problem,
        field: `content.${problem.field}`,
      }));
    }
    if (problems.length > 0) {
      throw new BivouacError(
        'VALIDATION_FAILED',
        `${path} cannot be saved: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}.`,
        { fields: problems },
      );
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

  /** The live module at `path`. */
  private find(path: string): StoredModule | undefined {
    return this.store.data.modules.find((module) => module.path === path && !module.deleted);
  }

  /** The module, live or deleted, that holds version `number` of `path` (numbers are never reused). */
  private holding(
    path: string,
    number: number,
  ): { module: StoredModule; version: ModuleVersion } | undefined {
    for (const module of this.store.data.modules) {
      if (module.path !== path) continue;
      const version = module.versions.find((candidate) => candidate.version === number);
      if (version) return { module, version };
    }
    return undefined;
  }

  /** A floating reference's live newest version, or a pinned one's version wherever it is kept. */
  private held(
    path: string,
    number: number | null,
  ): { module: StoredModule; version: ModuleVersion } | undefined {
    if (number !== null) return this.holding(path, number);
    const module = this.find(path);
    return module ? { module, version: module.versions.at(-1)! } : undefined;
  }

  /** The version a reference names, if `subject` may view the module that holds it; NOT_FOUND otherwise, the same whether it is missing or hidden. */
  private visibleVersion(
    subject: Subject,
    reference: { path: string; version: number | null },
  ): { module: StoredModule; version: ModuleVersion } {
    const held = this.held(reference.path, reference.version);
    if (held && canAccess(subject, held.module, 'view')) return held;
    const live = this.find(reference.path);
    if (reference.version !== null && live && canAccess(subject, live, 'view')) {
      const first = live.versions[0]!.version;
      const last = live.versions.at(-1)!.version;
      throw new BivouacError(
        'NOT_FOUND',
        `${reference.path} has no version ${reference.version}; it has ${first} to ${last}.`,
        { resource: 'module', path: reference.path, version: reference.version },
      );
    }
    throw new BivouacError('NOT_FOUND', `No module at ${reference.path}.`, {
      resource: 'module',
      path: reference.path,
    });
  }

  /** The view of a version for `subject`: secrets masked unless they may edit the module. */
  private shown(subject: Subject, module: StoredModule, version: ModuleVersion): ModuleView {
    const shown = view(module, version);
    if (canAccess(subject, module, 'edit')) return shown;
    return {
      ...shown,
      content: maskSecrets(version.content, (reference) => this.resolveInputs(subject, reference)),
    };
  }

  /** The inputs of the image a reference names, as `subject` sees it; null when it does not resolve for them. */
  private resolveInputs(subject: Subject, reference: string): ImageContent['inputs'] | null {
    try {
      return resolveImage(reference, this.lookupAs({ subject, action: 'view' })).inputs;
    } catch (error) {
      if (error instanceof ModuleError) return null;
      throw error;
    }
  }

  /**
   * The content with every masked secret (a secret input's default, a literal value given to a
   * secret input) replaced by the value the live module has for it: an editor who saves what a
   * masked view showed keeps the secret instead of storing the mask.
   */
  private unmasked(subject: Subject, path: string, content: ModuleContent): ModuleContent {
    const previous = this.find(path)?.versions.at(-1)?.content;
    if (!previous || previous.kind !== content.kind) return content;
    if (content.kind === 'image' && previous.kind === 'image') {
      const before = new Map(previous.inputs.map((input) => [input.name, input]));
      return {
        ...content,
        inputs: content.inputs.map((input) => {
          const old = before.get(input.name);
          return input.default === maskedValue && isSecret(input) && old?.default !== undefined
            ? { ...input, default: old.default }
            : input;
        }),
      };
    }
    if (content.kind === 'deployment' && previous.kind === 'deployment') {
      return {
        ...content,
        nodes: content.nodes.map((node) => {
          const old = previous.nodes.find((candidate) => candidate.name === node.name);
          const masked = Object.entries(node.mappings).filter(
            ([, mapping]) => 'value' in mapping && mapping.value === maskedValue,
          );
          if (!old || masked.length === 0) return node;
          const inputs = this.resolveInputs(subject, node.image);
          const mappings = { ...node.mappings };
          for (const [name] of masked) {
            const kept = old.mappings[name];
            const input = inputs?.find((candidate) => candidate.name === name);
            if (kept && 'value' in kept && input && isSecret(input)) mappings[name] = kept;
          }
          return { ...node, mappings };
        }),
      };
    }
    return content;
  }

  /** The module, if it exists and `subject` may do `action`; a module you may not view does not exist for you. */
  private visible(subject: Subject, path: string, action: Action): StoredModule {
    const module = this.find(path);
    if (!module || !canAccess(subject, module, 'view'))
      throw new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
    if (!canAccess(subject, module, action)) throw forbidden(path, action);
    return module;
  }
}

/** The version a grant gives a reference: a pinned one if granted, a floating one the newest granted. */
function granted(reach: Reach, path: string, version: number | null): number | undefined {
  const numbers = (reach.granted ?? [])
    .filter((pin) => pin.path === path)
    .map((pin) => pin.version);
  if (version !== null) return numbers.find((number) => number === version);
  return numbers.length > 0 ? Math.max(...numbers) : undefined;
}

/**
 * Whether two texts surely need more than `limits.diffMaxEdits` line edits, found in one pass:
 * every line of one without a partner in the other must be removed or added, whatever the diff
 * (the last line, which has no newline, may count once more on each side).
 */
function surelyTooDifferent(before: string, after: string): boolean {
  const unmatched = new Map<string, number>();
  for (const line of before.split('\n')) unmatched.set(line, (unmatched.get(line) ?? 0) + 1);
  for (const line of after.split('\n')) unmatched.set(line, (unmatched.get(line) ?? 0) - 1);
  let edits = 0;
  for (const count of unmatched.values()) edits += Math.abs(count);
  return edits - 2 > limits.diffMaxEdits;
}

/** The number the next version saved at `path` gets: one more than any version the path ever had. */
function nextNumber(document: MainDocument, path: string): number {
  let highest = 0;
  for (const module of document.modules)
    if (module.path === path) highest = Math.max(highest, module.versions.at(-1)?.version ?? 0);
  return highest + 1;
}

/**
 * The content as someone who may not edit it sees it: secret inputs' defaults, and literal values
 * given to secret inputs of a deployment's nodes, replaced by the mask. A node whose image does
 * not resolve for them has every literal value masked.
 */
function maskSecrets(
  content: ModuleContent,
  inputsOf: (reference: string) => ImageContent['inputs'] | null,
): ModuleContent {
  if (content.kind === 'image') {
    return {
      ...content,
      inputs: content.inputs.map((input) =>
        isSecret(input) && input.default !== undefined ? { ...input, default: maskedValue } : input,
      ),
    };
  }
  if (content.kind === 'deployment') {
    return {
      ...content,
      nodes: content.nodes.map((node) => {
        const inputs = inputsOf(node.image);
        const secret = (name: string) =>
          inputs === null || inputs.some((input) => input.name === name && isSecret(input));
        return {
          ...node,
          mappings: Object.fromEntries(
            Object.entries(node.mappings).map(([name, mapping]) => [
              name,
              'value' in mapping && secret(name) ? { value: maskedValue } : mapping,
            ]),
          ),
        };
      }),
    };
  }
  return content;
}

/**
 * Refuses YAML whose collections nest deeper than `limits.yamlMaxDepth` before it is composed:
 * composing and converting recurse once per level, so a deep document would exhaust the stack.
 * The parser's syntax tree is walked with a list instead of recursion.
 */
function refuseDeepNesting(yamlText: string): void {
  const pending: { token: unknown; depth: number }[] = [];
  for (const token of new Parser().parse(yamlText)) pending.push({ token, depth: 0 });
  while (pending.length > 0) {
    const { token, depth } = pending.pop()!;
    if (!token || typeof token !== 'object') continue;
    const node = token as {
      type?: string;
      value?: unknown;
      items?: { key?: unknown; value?: unknown }[];
    };
    if (node.type === 'document') {
      pending.push({ token: node.value, depth });
      continue;
    }
    if (
      !Array.isArray(node.items) ||
      !['block-map', 'block-seq', 'flow-collection'].includes(node.type ?? '')
    )
      continue;
    if (depth + 1 > limits.yamlMaxDepth) {
      const message = `the YAML nests collections deeper than ${limits.yamlMaxDepth} levels; module documents need far fewer`;
      throw new BivouacError('VALIDATION_FAILED', `YAML refused: ${message}.`, {
        fields: [{ field: 'yaml', message }],
        maxDepth: limits.yamlMaxDepth,
      });
    }
    for (const item of node.items)
      pending.push({ token: item.key, depth: depth + 1 }, { token: item.value, depth: depth + 1 });
  }
}

/** Paths of the modules a content names (floating references only). */
function referencesOf(content: ModuleContent): string[] {
  const references =
    content.kind === 'image'
      ? [content.parent]
      : content.kind === 'deployment'
        ? content.nodes.map((node) => node.image)
        : [];
  return references.filter(
    (reference): reference is string => reference !== null && !reference.includes('@'),
  );
}

function sameContent(a: ModuleContent, b: ModuleContent): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The content with floating references to modules of the same set pinned to the versions being
 * saved (`/apps/web` → `/apps/web@3`), so an installed app always deploys what it shipped with.
 */
function pinned(
  content: ModuleContent,
  versionOf: Map<string, number>,
  paths: string[],
  document: MainDocument,
): ModuleContent {
  const pin = (reference: string): string => {
    if (reference.includes('@') || !paths.includes(reference)) return reference;
    const known = versionOf.get(reference);
    const fallback = nextNumber(document, reference);
    return `${reference}@${known ?? fallback}`;
  };
  if (content.kind === 'image')
    return { ...content, parent: content.parent === null ? null : pin(content.parent) };
  if (content.kind === 'deployment')
    return {
      ...content,
      nodes: content.nodes.map((node) => ({ ...node, image: pin(node.image) })),
    };
  return content;
}

function view(module: StoredModule, version: ModuleVersion): ModuleView {
  return {
    path: module.path,
    kind: version.content.kind,
    owner: module.owner,
    acl: module.acl,
    version: version.version,
    latestVersion: module.versions.at(-1)!.version,
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
  return new BivouacError('FORBIDDEN', `You may not ${action} ${path}.`, {
    resource: 'module',
    path,
    action,
  });
}

import { canAccess, type AclRule, type Subject } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { type ModuleContent } from '../domain/modules.ts';
import { isValidPath, ModuleError, type ModuleLookup } from '../domain/module-references.ts';
import { resolveImage } from '../domain/module-resolution.ts';
import { validateDeployment, validateImage, type Problem } from '../domain/module-validation.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument, ModuleVersion } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { forbidden, invalid, noModule } from './module-errors.ts';
import type { ModuleLookups } from './module-lookups.ts';
import { unmaskSecrets } from './module-secrets.ts';
import { moduleAccess, view, type ModuleView, type ModuleViews } from './module-views.ts';

export interface PreparedSave {
  apply(document: MainDocument): ModuleView[];
  announce(saved: ModuleView[]): void;
}

/**
 * Saving versions: every save is a new immutable version (1, 2, 3… per path) with author, time
 * and message, checked before it is kept (rights on the module or its project, a kind that never
 * changes, images' inheritance, deployments' mappings), all of a set or none.
 */
export class ModuleSaves {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly lookups: ModuleLookups,
    private readonly views: ModuleViews,
    private readonly now: () => Date,
  ) {}

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
  async saveAll(
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
      paths.map((path) => [
        path,
        unmaskSecrets(
          given.get(path)!,
          this.lookups.find(path)?.versions.at(-1)?.content,
          this.views.inputsOf(subject),
        ),
      ]),
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
          domainEvent('module.saved', module.path, moduleAccess(module), {
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
    const existing = this.lookups.find(path);
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
      const found = this.lookups.find(parentPath);
      const parent = found && canAccess(subject, found, 'view') ? found : undefined;
      const parentKind = pending.get(parentPath)?.kind ?? parent?.versions.at(-1)!.content.kind;
      if (parentKind !== 'project')
        throw invalid('path', `${parentPath} is not a project; create the project first.`);
      if (parent && !canAccess(subject, parent, 'edit')) throw forbidden(parentPath, 'edit');
    } else if (subject.role === 'viewer') {
      throw forbidden(path, 'edit');
    }
    // Taken by a module hidden from them (in a project they may edit): it cannot be made again.
    if (existing) throw noModule(path);
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
    const saved = this.lookups.lookupAs({ subject, action: 'view' });
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
}

/** The number the next version saved at `path` gets: one more than any version the path ever had. */
function nextNumber(document: MainDocument, path: string): number {
  let highest = 0;
  for (const module of document.modules)
    if (module.path === path) highest = Math.max(highest, module.versions.at(-1)?.version ?? 0);
  return highest + 1;
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

import { canAccess, type Action, type Subject } from '../domain/access.ts';
import { type ModuleContent } from '../domain/modules.ts';
import { ModuleError, parseReference, type ModuleLookup } from '../domain/module-references.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument, ModuleVersion, StoredModule } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import { forbidden, invalid, noModule } from './module-errors.ts';

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

/** A stored module and one of its versions. */
export interface HeldVersion {
  module: StoredModule;
  version: ModuleVersion;
}

/**
 * Finding modules and their versions, and following references as someone may: a module the
 * subject may not view is missing for them, in answers and in errors alike. A deleted module's
 * versions are still found by their exact numbers (numbers are never reused).
 */
export class ModuleLookups {
  constructor(private readonly store: Store<MainDocument>) {}

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

  /** A reference (`path` or `path@N`) parsed, or VALIDATION_FAILED on `path`. */
  reference(text: string): { path: string; version: number | null } {
    try {
      return parseReference(text);
    } catch (error) {
      if (error instanceof ModuleError) throw invalid('path', error.message);
      throw error;
    }
  }

  /** The live module at `path`. */
  find(path: string): StoredModule | undefined {
    return this.store.data.modules.find((module) => module.path === path && !module.deleted);
  }

  /** The version a reference names, if `subject` may view the module that holds it; NOT_FOUND otherwise, the same whether it is missing or hidden. */
  visibleVersion(
    subject: Subject,
    reference: { path: string; version: number | null },
  ): HeldVersion {
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
    throw noModule(reference.path);
  }

  /** The module, if it exists and `subject` may do `action`; a module you may not view does not exist for you. */
  visible(subject: Subject, path: string, action: Action): StoredModule {
    const module = this.find(path);
    if (!module || !canAccess(subject, module, 'view')) throw noModule(path);
    if (!canAccess(subject, module, action)) throw forbidden(path, action);
    return module;
  }

  /** The module, live or deleted, that holds version `number` of `path` (numbers are never reused). */
  private holding(path: string, number: number): HeldVersion | undefined {
    for (const module of this.store.data.modules) {
      if (module.path !== path) continue;
      const version = module.versions.find((candidate) => candidate.version === number);
      if (version) return { module, version };
    }
    return undefined;
  }

  /** A floating reference's live newest version, or a pinned one's version wherever it is kept. */
  private held(path: string, number: number | null): HeldVersion | undefined {
    if (number !== null) return this.holding(path, number);
    const module = this.find(path);
    return module ? { module, version: module.versions.at(-1)! } : undefined;
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

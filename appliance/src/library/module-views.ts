import { canAccess, type Access, type AclRule, type Subject } from '../domain/access.ts';
import { type ModuleContent } from '../domain/modules.ts';
import { ModuleError } from '../domain/module-references.ts';
import { resolveImage } from '../domain/module-resolution.ts';
import { byCodePoint } from '../domain/order.ts';
import type { MainDocument, ModuleVersion, StoredModule } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import type { ModuleLookups } from './module-lookups.ts';
import { maskSecrets, type InputsOf } from './module-secrets.ts';

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

/**
 * The library as someone reads it: the modules they may view, a version (secrets masked unless
 * they may edit the module), a module's history.
 */
export class ModuleViews {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly lookups: ModuleLookups,
  ) {}

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
    const { module, version } = this.lookups.visibleVersion(
      subject,
      this.lookups.reference(reference),
    );
    return this.shown(subject, module, version);
  }

  /** The live module's versions (a module made again at a deleted path starts past its numbers). */
  versions(subject: Subject, path: string): Omit<ModuleVersion, 'content'>[] {
    return this.lookups
      .visible(subject, path, 'view')
      .versions.map(({ content: _content, ...rest }) => rest);
  }

  /** The view of a version for `subject`: secrets masked unless they may edit the module. */
  shown(subject: Subject, module: StoredModule, version: ModuleVersion): ModuleView {
    const shown = view(module, version);
    if (canAccess(subject, module, 'edit')) return shown;
    return { ...shown, content: maskSecrets(version.content, this.inputsOf(subject)) };
  }

  /** The inputs of the image a reference names, as `subject` sees it; null when it does not resolve for them. */
  inputsOf(subject: Subject): InputsOf {
    return (reference) => {
      try {
        return resolveImage(reference, this.lookups.lookupAs({ subject, action: 'view' })).inputs;
      } catch (error) {
        if (error instanceof ModuleError) return null;
        throw error;
      }
    };
  }
}

/** A version as it is, whoever asks (`ModuleViews.shown` masks it for those who may not edit). */
export function view(module: StoredModule, version: ModuleVersion): ModuleView {
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

/** Who may see a module's events: its owner and its sharing rules. */
export function moduleAccess(module: { owner: string; acl: AclRule[] }): Access {
  return { owner: module.owner, acl: module.acl };
}

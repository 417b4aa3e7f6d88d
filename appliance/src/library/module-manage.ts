import { sameRules, type AclRule, type Subject } from '../domain/access.ts';
import { domainEvent } from '../domain/events.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { invalid } from './module-errors.ts';
import type { ModuleLookups } from './module-lookups.ts';
import { moduleAccess, type ModuleView, type ModuleViews } from './module-views.ts';

/**
 * What the manage right allows on a module: replacing its sharing rules, and deleting it (which
 * hides it but keeps its versions for the runs and apps that use them).
 */
export class ModuleManagement {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly lookups: ModuleLookups,
    private readonly views: ModuleViews,
  ) {}

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
    this.lookups.visible(subject, path, 'manage');
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
    const shared = this.views.shown(subject, module, module.versions.at(-1)!);
    this.events.append(
      domainEvent('module.shared', path, moduleAccess(module), { path, acl: shared.acl }),
    );
    return structuredClone(shared);
  }

  /** Hides a module (its versions stay for the runs that used them); a project must be empty. */
  async delete(subject: Subject, path: string): Promise<void> {
    const module = this.lookups.visible(subject, path, 'manage');
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
}

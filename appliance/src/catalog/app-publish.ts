import type { Subject } from '../domain/access.ts';
import { nextMajorVersion } from '../domain/app-trust.ts';
import type { StoredApp } from '../domain/apps.ts';
import {
  deployedNodes,
  formCandidates,
  formProblems,
  unaskedInputs,
} from '../domain/deploy-form.ts';
import { Manifest, type FormField } from '../domain/manifest.ts';
import { BivouacError } from '../errors.ts';
import type { Modules } from '../library/modules.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import { misfit } from './app-errors.ts';
import type { AppEvents } from './app-events.ts';
import { latestOf } from './app-listing.ts';
import type { Publishers } from './publishers.ts';

/** What an administrator publishes: the module to deploy and the store's page and form for it. */
export interface PublishRequest {
  id: string;
  module: string;
  title: string;
  summary: string;
  description: string;
  categories: string[];
  form: FormField[];
  clouds: Record<string, 'box' | 'any'>;
}

/** Apps made on this box from its modules (no bundle), and apps put in and taken out of the store. */
export class AppPublishing {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: AppEvents,
    private readonly modules: Modules,
    private readonly publishers: Publishers,
    private readonly now: () => Date,
  ) {}

  /**
   * Publishes a module version as an app (without a bundle); a new version of an existing app.
   * Its modules are resolved as the publishing administrator, who must be able to view and run
   * each, and the app version pins every one it reaches (the module, node images, parent chains)
   * at its exact version: deploying the app reaches those on the publisher's authority.
   */
  async publish(subject: Subject, request: PublishRequest): Promise<StoredApp> {
    const reach = { subject, action: 'run' as const };
    const module = this.modules.reached(reach, request.module);
    if (module.content.kind === 'project')
      throw new BivouacError(
        'VALIDATION_FAILED',
        `${module.path} is a project; publish an image or a deployment.`,
        { fields: [{ field: 'module', message: 'must be an image or a deployment' }] },
      );
    const nodes = deployedNodes(module.path, module.version, module.content);
    const images = nodes.nodes.map((node) => this.modules.resolveImage(node.image, reach));
    const pinned = [
      { path: module.path, version: module.version },
      ...images.flatMap((image) => image.chain.map(pinOf)),
    ].filter(
      (pin, index, all) =>
        all.findIndex((other) => other.path === pin.path && other.version === pin.version) ===
        index,
    );
    const candidates = formCandidates(nodes, images);
    const problems = formProblems(nodes, candidates, request.form, request.clouds);
    if (problems.length > 0)
      throw misfit(`The deploy form does not fit ${module.path}@${module.version}`, problems);
    const unasked = unaskedInputs(
      candidates,
      request.form.filter((field) => field.sets === 'input').map((field) => field.key),
    );
    if (unasked.length > 0) {
      throw new BivouacError(
        'FORM_INCOMPLETE',
        `The deploy form must ask for ${unasked.join(', ')}: ${unasked.length === 1 ? 'it has' : 'they have'} no value from a default or a mapping, and a run cannot start without ${unasked.length === 1 ? 'it' : 'them'}.`,
        { inputs: unasked },
      );
    }
    // An app published here is this box's: bound to its key, shown under its name.
    const box = await this.publishers.boxPublisher();
    const bindable = (apps: readonly StoredApp[]): StoredApp | undefined => {
      const existing = apps.find((app) => app.id === request.id);
      if (
        existing &&
        existing.publisherKeyId !== null &&
        existing.publisherKeyId !== box.key.keyId
      ) {
        throw new BivouacError(
          'APP_OTHER_PUBLISHER',
          `${request.id} is published by the key ${existing.publisherKeyId}; publish under another app id.`,
          { app: request.id, boundKeyId: existing.publisherKeyId, keyId: box.key.keyId },
        );
      }
      return existing;
    };
    const version = nextMajorVersion(bindable(this.store.data.apps)?.versions ?? []);
    const manifest = Manifest.parse({
      format: 1,
      app: {
        id: request.id,
        version,
        title: request.title,
        summary: request.summary,
        description: request.description,
        categories: request.categories,
        publisher: box.name,
      },
      deploy: { module: module.path, form: request.form, clouds: request.clouds },
    });
    const app = await this.store.update((document) => {
      const stored: StoredApp = bindable(document.apps) ?? {
        id: request.id,
        published: true,
        publisherKeyId: null,
        versions: [],
      };
      const numbered = nextMajorVersion(stored.versions);
      stored.versions.push({
        version: numbered,
        manifest: { ...manifest, app: { ...manifest.app, version: numbered } },
        modules: pinned,
        signed: false,
        publisher: box.key.keyId,
        publisherName: box.name,
        installedAt: this.now().toISOString(),
        installedBy: subject.userId,
      });
      stored.publisherKeyId = box.key.keyId;
      stored.published = true;
      if (!document.apps.includes(stored)) document.apps.push(stored);
      return structuredClone(stored);
    });
    this.events.announce('app.published', request.id, {
      app: request.id,
      version: latestOf(app).version,
    });
    return app;
  }

  async setPublished(id: string, published: boolean): Promise<void> {
    await this.store.update((document) => {
      const app = document.apps.find((candidate) => candidate.id === id);
      if (!app) throw new BivouacError('NOT_FOUND', `No app ${id}.`, { resource: 'app', id });
      app.published = published;
    });
    this.events.announce(published ? 'app.published' : 'app.unpublished', id, { app: id });
  }
}

/** A resolved chain's label (`/a/b@3`) as a pin. */
function pinOf(label: string): { path: string; version: number } {
  const at = label.lastIndexOf('@');
  return { path: label.slice(0, at), version: Number(label.slice(at + 1)) };
}

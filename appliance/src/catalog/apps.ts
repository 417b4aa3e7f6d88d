import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, ReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { privateTo, visibleToAll, type AclRule, type Subject } from '../domain/access.ts';
import { domainEvent, type EventPayloads } from '../domain/events.ts';
import type { AppVersion, PublisherKey, StoredApp, TrustedPublisher } from '../domain/apps.ts';
import { describeRefusal, resourceLabels, resources, type Amounts } from '../domain/capacity.ts';
import {
  appFolder,
  compareVersions,
  exportedModules,
  newestVersion,
  nextMajorVersion,
  outsideAppFolder,
  signsFor,
} from '../domain/app-trust.ts';
import {
  askedCounts,
  deployedNodes,
  formCandidates,
  formProblems,
  unaskedInputs,
} from '../domain/deploy-form.ts';
import { limits } from '../domain/limits.ts';
import type { ModuleContent } from '../domain/modules.ts';
import { footprint } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import { fileSource } from '../host/image-files.ts';
import type { ImageStore } from '../host/images.ts';
import { newId } from '../ids.ts';
import type { Reservations } from '../orchestrator/reservations.ts';
import type { DeployPlan } from '../orchestrator/deploy-plan.ts';
import type { Runs } from '../orchestrator/runs.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import {
  manifestFile,
  newSigningKey,
  readBundle,
  writeBundle,
  type BundleEntry,
  type BundleHead,
  type SigningKey,
  type Verdict,
} from './bundle.ts';
import { Manifest, type FormField } from '../domain/manifest.ts';
import type { ContentParser, Modules } from '../library/modules.ts';

const storeAcl: AclRule[] = [
  { role: 'operator', allow: ['view', 'run'] },
  { role: 'viewer', allow: ['view'] },
];

/** The administrator the box acts as when it installs its own catalog. */
const system: Subject = { userId: 'system', role: 'admin' };

export interface PreflightCheck {
  check: string;
  ok: boolean;
  message: string;
  details: Record<string, unknown>;
}

/** A node as the deploy would place and size it: what one more instance of it costs. */
export interface PreflightNode {
  name: string;
  cloudId: string;
  multiplicity: number;
  resources: { vcpu: number; memoryMiB: number; diskGiB: number };
  /** Where it may run: only on the box, or on any cloud. */
  cloudChoice: 'box' | 'any';
}

/** What deploying would need, checked before anything starts. */
export interface Preflight {
  ok: boolean;
  checks: PreflightCheck[];
  footprint: Amounts;
  nodes: PreflightNode[];
}

export interface AppsOptions {
  /** `<dataDir>/apps`: assets of installed versions, staging of imports, the box's signing key. */
  directory: string;
  parseContent: ContentParser;
  /** Disk space an install leaves free (default: limits.diskReserveBytes). */
  reserveBytes?: number;
  now?: () => Date;
}

/** A bundle's head, judged: its manifest and who signed it. */
interface Admission {
  manifest: Manifest;
  verdict: Verdict<TrustedPublisher>;
}

/** The name the box's own key is trusted under when the box first makes it. */
const boxKeyName = 'This box';

/**
 * The offline app store: bundles imported (verified, all or nothing), published module versions,
 * pre-flight checks and one-click deploy, and export as signed bundles.
 */
export class Apps {
  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: EventLog,
    private readonly modules: Modules,
    private readonly images: ImageStore,
    private readonly reservations: Reservations,
    private readonly runs: Runs,
    private readonly options: AppsOptions,
  ) {}

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  /** Sweeps imports a crash interrupted. */
  async recover(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true, mode: 0o700 });
    for (const entry of await readdir(this.options.directory)) {
      if (entry.startsWith('.staging-'))
        await rm(join(this.options.directory, entry), { recursive: true, force: true });
    }
  }

  /** The apps in the store, latest version each; with `includeUnpublished`, also those taken out (for administrators, to publish them again). */
  list(includeUnpublished = false): { app: StoredApp; latest: AppVersion }[] {
    return this.store.data.apps
      .filter((app) => includeUnpublished || app.published)
      .map((app) => ({ app, latest: latestOf(app) }));
  }

  get(id: string): StoredApp {
    const app = this.store.data.apps.find((candidate) => candidate.id === id);
    if (!app || !app.published)
      throw new BivouacError('NOT_FOUND', `No app ${id} in the store.`, { resource: 'app', id });
    return app;
  }

  /** A file of an installed version (icon, screenshot), checked against the manifest. */
  assetPath(id: string, version: string, file: string): string {
    const app = this.get(id);
    const found = app.versions.find((candidate) => candidate.version === version);
    const allowed = found ? [found.manifest.app.icon, ...found.manifest.app.screenshots] : [];
    if (!found || !allowed.includes(file))
      throw new BivouacError('NOT_FOUND', `App ${id} ${version} has no asset ${file}.`, {
        resource: 'asset',
        file,
      });
    return join(this.options.directory, id, version, file);
  }

  // ---- trust ----

  publishers(): readonly TrustedPublisher[] {
    return this.store.data.publishers;
  }

  /**
   * Trusts a key to sign the apps whose ids `appIds` covers, shown under `name`; trusting a key
   * again replaces its name and app ids. Apps already bound to the key stay bound to it.
   */
  async trust(
    name: string,
    key: PublisherKey,
    appIds: readonly string[],
  ): Promise<TrustedPublisher> {
    const publisher: TrustedPublisher = {
      keyId: key.keyId,
      publicKey: key.publicKey,
      name,
      appIds: [...new Set(appIds)],
      addedAt: this.now().toISOString(),
    };
    await this.store.update((document) => {
      document.publishers = [
        ...document.publishers.filter((candidate) => candidate.keyId !== key.keyId),
        publisher,
      ];
    });
    this.announceTrust('publisher.trusted', key.keyId, { name, appIds: publisher.appIds });
    return publisher;
  }

  async distrust(keyId: string): Promise<void> {
    const removed = await this.store.update((document) => {
      const before = document.publishers.length;
      document.publishers = document.publishers.filter((candidate) => candidate.keyId !== keyId);
      return before !== document.publishers.length;
    });
    if (!removed)
      throw new BivouacError('NOT_FOUND', `No trusted publisher ${keyId}.`, {
        resource: 'publisher',
        id: keyId,
      });
    this.announceTrust('publisher.distrusted', keyId, {});
  }

  get allowUnsigned(): boolean {
    return this.store.data.settings.allowUnsignedBundles;
  }

  async setAllowUnsigned(allow: boolean): Promise<void> {
    await this.store.update((document) => {
      document.settings.allowUnsignedBundles = allow;
    });
    this.announceTrust('settings.bundles', 'bundles', { allowUnsigned: allow });
  }

  /** The box's own publisher key (made on first use), which it trusts and signs exports with. */
  async signingKey(): Promise<SigningKey> {
    const path = join(this.options.directory, '..', 'publisher-key.json');
    const existing = await readFile(path, 'utf8').catch(() => null);
    if (existing) return JSON.parse(existing) as SigningKey;
    const key = newSigningKey();
    await writeFile(path, JSON.stringify(key), { mode: 0o600, flag: 'wx' }).catch(
      async () => undefined,
    );
    const kept = JSON.parse(await readFile(path, 'utf8')) as SigningKey;
    // It signs the shipped catalog and this box's exports, whatever their app ids.
    if (!this.publishers().some((publisher) => publisher.keyId === kept.keyId))
      await this.trust(boxKeyName, kept, ['*']);
    return kept;
  }

  /** The box's own key as it is trusted: its key id and the name its apps show. */
  private async boxPublisher(): Promise<{ key: SigningKey; name: string }> {
    const key = await this.signingKey();
    return {
      key,
      name:
        this.publishers().find((publisher) => publisher.keyId === key.keyId)?.name ?? boxKeyName,
    };
  }

  /** Bytes an install may still write: free space less the reserve. */
  private async spaceLeft(): Promise<number> {
    return (await this.images.freeSpace()) - (this.options.reserveBytes ?? limits.diskReserveBytes);
  }

  // ---- install ----

  /**
   * Installs a bundle. Its signature (by a trusted key, unless unsigned bundles are allowed) and
   * its manifest are checked before anything of it is written to disk: the key must sign for the
   * app's id and be the one the app is bound to, the manifest must name the key's publisher, and
   * the version must be newer than the newest installed (unless `allowDowngrade`). Only then are
   * its files staged, each checked against CHECKSUMS as it streams, within the free space; its
   * modules must stay inside `/apps/<id>/`; its images are imported, then modules and the app
   * recorded in one durable step. Any failure leaves nothing behind.
   */
  async install(
    subject: Subject,
    input: Readable,
    label: string,
    totalBytes: number | null = null,
    allowDowngrade = false,
  ): Promise<{ app: StoredApp; version: AppVersion; warning: string | null }> {
    if (this.closed)
      throw new BivouacError(
        'SHUTTING_DOWN',
        'The appliance is shutting down; import the bundle again once it is back.',
      );
    const staging = join(this.options.directory, `.staging-${newId()}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const importedImages: string[] = [];
    this.reading.add(input);
    this.announceImport('app.importing', label, { source: label });
    try {
      if (totalBytes !== null) await this.checkBundleSize(totalBytes);
      let lastProgress = 0;
      let received = 0;
      // What `admit` decided on the bundle's head; readBundle resolves only after it has.
      const decided: { admission?: Admission } = {};
      const read = await readBundle(input, staging, {
        trusted: this.publishers(),
        spaceLeft: () => this.spaceLeft(),
        onReceived: (bytes) => {
          received = bytes;
          if (Date.now() - lastProgress < 250) return;
          lastProgress = Date.now();
          this.reportProgress(label, { source: label, receivedBytes: received, totalBytes });
        },
        admit: async (head) => {
          decided.admission = this.admit(head, allowDowngrade, label);
          return {
            inMemory: new Map([[decided.admission.manifest.modules, limits.bundleModulesBytes]]),
          };
        },
      });
      if (!decided.admission)
        throw new Error('bug: a bundle was read without a decision on its head');
      const { manifest, verdict } = decided.admission;
      this.reportProgress(label, {
        source: label,
        receivedBytes: received,
        totalBytes,
        staged: true,
      });
      const modulesText = read.inMemory.get(manifest.modules);
      const onDisk = [
        manifest.app.icon,
        ...manifest.app.screenshots,
        ...manifest.images.flatMap((image) =>
          image.kind === 'disk' ? [image.disk] : [image.kernel, image.initrd],
        ),
      ];
      for (const file of onDisk)
        if (file && !read.files.has(file))
          throw new BivouacError(
            'BAD_BUNDLE',
            `manifest.yaml names ${file}, which is not in the bundle.`,
            { entry: file },
          );
      if (!modulesText)
        throw new BivouacError(
          'BAD_BUNDLE',
          `manifest.yaml names ${manifest.modules}, which is not in the bundle.`,
          { entry: manifest.modules },
        );
      const contents = this.readModules(modulesText.toString('utf8'), manifest);
      // Staging and checking run side by side; installing is one at a time, so two imports of
      // the same app or image never race.
      const result = await this.serialized(async () => {
        this.checkPublisher(this.store.data, manifest, verdict, allowDowngrade);
        const files = read.files;
        for (const image of manifest.images) {
          const existing = this.images
            .list()
            .find((candidate) => candidate.name === image.name && candidate.status === 'ready');
          const wanted =
            image.kind === 'disk'
              ? { disk: files.get(image.disk)!.sha256 }
              : {
                  kernel: files.get(image.kernel)!.sha256,
                  initrd: files.get(image.initrd)!.sha256,
                };
          if (existing && JSON.stringify(existing.sha256) === JSON.stringify(wanted)) continue;
          if (existing)
            throw new BivouacError(
              'BAD_BUNDLE',
              `The bundle's image "${image.name}" differs from the image of that name on this box; rename one of them.`,
              { image: image.name },
            );
          const sources =
            image.kind === 'disk'
              ? {
                  kind: 'disk' as const,
                  disk: await fileSource(join(staging, image.disk), wanted.disk),
                }
              : {
                  kind: 'kernel' as const,
                  kernel: await fileSource(join(staging, image.kernel), wanted.kernel),
                  initrd: await fileSource(join(staging, image.initrd), wanted.initrd),
                  cmdline: image.cmdline,
                };
          const started = await this.images.startImport(image.name, sources, subject.userId);
          importedImages.push(started.image.id);
          await started.done;
        }
        // The box makes the store's folders itself; a bundle writes only inside its app's folder.
        const pending = new Map(contents);
        const folder = appFolder(manifest.app.id);
        if (!this.modules.exists('/apps'))
          pending.set('/apps', { kind: 'project', description: 'Apps installed from the store' });
        if (!pending.has(folder) && !this.modules.exists(folder))
          pending.set(folder, { kind: 'project' });
        // What the store installs, everyone may see and operators may deploy.
        const prepared = this.modules.prepare(
          subject,
          pending,
          `installed ${manifest.app.id} ${manifest.app.version}`,
          { pin: true, acl: storeAcl },
        );
        const stamp = this.now().toISOString();
        const result = await this.store.update((document) => {
          this.checkPublisher(document, manifest, verdict, allowDowngrade);
          const app = document.apps.find((candidate) => candidate.id === manifest.app.id);
          const saved = prepared.apply(document);
          const deployed = saved.find((module) => module.path === manifest.deploy.module)!;
          const version: AppVersion = {
            version: manifest.app.version,
            manifest,
            modules: [
              { path: deployed.path, version: deployed.version },
              ...saved
                .filter((module) => module !== deployed && contents.has(module.path))
                .map((module) => ({ path: module.path, version: module.version })),
            ],
            signed: verdict.signed,
            publisher: verdict.signed ? verdict.publisher.keyId : null,
            publisherName: verdict.signed ? verdict.publisher.name : null,
            installedAt: stamp,
            installedBy: subject.userId,
          };
          const stored: StoredApp = app ?? {
            id: manifest.app.id,
            published: true,
            publisherKeyId: null,
            versions: [],
          };
          // A new app's first install binds it to its key, if signed (an unbound app refuses signed bundles).
          if (!app && verdict.signed) stored.publisherKeyId = verdict.publisher.keyId;
          stored.versions.push(version);
          stored.published = true;
          if (!app) document.apps.push(stored);
          return { saved, app: structuredClone(stored), version };
        });
        prepared.announce(result.saved);
        return result;
      });
      await this.keepAssets(
        staging,
        join(this.options.directory, manifest.app.id, manifest.app.version),
        manifest,
      );
      const warning = verdict.signed ? null : `Installed unsigned: ${verdict.reason}.`;
      this.announce('app.installed', manifest.app.id, {
        app: manifest.app.id,
        version: manifest.app.version,
        signed: verdict.signed,
      });
      // The source, as in every event of this install, so screens end its progress by the event.
      this.announceImport('app.import.done', label, {
        app: manifest.app.id,
        version: manifest.app.version,
        signed: verdict.signed,
        warning,
        source: label,
      });
      return { app: result.app, version: result.version, warning };
    } catch (error) {
      // A file refused before its end is closed now; an upload's request is the HTTP server's to end.
      if (input instanceof ReadStream) input.destroy();
      for (const id of importedImages) await this.images.delete(id).catch(() => undefined);
      this.announceImport('app.import.failed', label, {
        source: label,
        error: (error as Error).message,
      });
      throw error;
    } finally {
      this.reading.delete(input);
      await rm(staging, { recursive: true, force: true });
    }
  }

  private readonly reading = new Set<Readable>();
  private closed = false;

  /** Shutdown: installs still reading their bundle are abandoned (they leave nothing behind), new ones refused. */
  close(): void {
    this.closed = true;
    for (const input of this.reading)
      input.destroy(
        new BivouacError(
          'SHUTTING_DOWN',
          'The appliance is shutting down; import the bundle again once it is back.',
        ),
      );
  }

  /** Refuses a bundle announced larger than the box takes, or than the disk can hold, before reading it. */
  private async checkBundleSize(totalBytes: number): Promise<void> {
    if (totalBytes > limits.bundleBytes)
      throw new BivouacError(
        'BODY_TOO_LARGE',
        `The bundle is ${totalBytes} bytes; the box takes bundles of at most ${limits.bundleBytes} bytes.`,
        { limitBytes: limits.bundleBytes },
      );
    const left = await this.spaceLeft();
    if (totalBytes > left) {
      const reserve = this.options.reserveBytes ?? limits.diskReserveBytes;
      throw new BivouacError(
        'NO_SPACE',
        `Not enough disk space for the bundle: it is ${mib(totalBytes)} MiB and ${mib(reserve)} MiB must stay free, but only ${mib(left + reserve)} MiB are free.`,
        {
          neededBytes: totalBytes,
          freeBytes: left + reserve,
          reserveBytes: reserve,
        },
      );
    }
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every install started before it has finished. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The decision on a bundle's head, before any of its files is written: trusted (or unsigned and
   * allowed), a valid manifest naming only files CHECKSUMS lists, and a publisher and version the
   * app may take.
   */
  private admit(
    head: BundleHead<TrustedPublisher>,
    allowDowngrade: boolean,
    label: string,
  ): Admission {
    const { verdict } = head;
    if (!verdict.signed && !this.allowUnsigned) {
      throw new BivouacError(
        'UNTRUSTED_BUNDLE',
        `${label} is not signed by a trusted publisher (${verdict.reason}); an administrator can trust its publisher, or allow unsigned bundles.`,
        { reason: verdict.reason },
      );
    }
    const manifest = parseManifest(head.manifest);
    const named = [
      manifest.modules,
      manifest.app.icon,
      ...manifest.app.screenshots,
      ...manifest.images.flatMap((image) =>
        image.kind === 'disk' ? [image.disk] : [image.kernel, image.initrd],
      ),
    ];
    for (const file of named)
      if (file && (!head.listed.has(file) || file === manifestFile))
        throw new BivouacError(
          'BAD_BUNDLE',
          `manifest.yaml names ${file}, which is not in the bundle.`,
          { entry: file },
        );
    this.checkPublisher(this.store.data, manifest, verdict, allowDowngrade);
    return { manifest, verdict };
  }

  /**
   * The rules that bind an app to its publisher, checked against `document` (at admission, and
   * again inside the install's store update): the key signs for the app id, the manifest names
   * the key's publisher, a bound app takes versions only from its key, and versions only grow.
   */
  private checkPublisher(
    document: MainDocument,
    manifest: Manifest,
    verdict: Verdict<TrustedPublisher>,
    allowDowngrade: boolean,
  ): void {
    const { id, version } = manifest.app;
    const key = verdict.signed
      ? document.publishers.find((candidate) => candidate.keyId === verdict.publisher.keyId)
      : undefined;
    if (verdict.signed && !key)
      throw new BivouacError(
        'UNTRUSTED_BUNDLE',
        `The bundle is signed by ${verdict.publisher.keyId}, which is no longer a trusted publisher.`,
        { reason: 'distrusted' },
      );
    if (key && !signsFor(key.appIds, id)) {
      throw new BivouacError(
        'PUBLISHER_NOT_ALLOWED',
        `${key.name} (${key.keyId}) is trusted to sign only ${key.appIds.join(', ')}, not the app ${id}; an administrator can trust the key for more app ids.`,
        { app: id, keyId: key.keyId, appIds: key.appIds },
      );
    }
    if (key && manifest.app.publisher !== key.name) {
      throw new BivouacError(
        'PUBLISHER_MISMATCH',
        `manifest.yaml says the publisher is "${manifest.app.publisher}", but the bundle is signed by ${key.keyId}, trusted as "${key.name}": a bundle names the publisher whose key signs it.`,
        { app: id, keyId: key.keyId, claimed: manifest.app.publisher, trustedAs: key.name },
      );
    }
    const app = document.apps.find((candidate) => candidate.id === id);
    if (!app) return;
    // An app bound to no key (installed unsigned, or published on this box before apps were bound
    // to keys) is no key's to take: a key trusted for `*` would otherwise take it over.
    if (app.publisherKeyId === null && key) {
      throw new BivouacError(
        'APP_OTHER_PUBLISHER',
        `${id} is not bound to a publisher key (it was installed unsigned, or published on this box before apps were bound to their keys), so no key may sign its new versions, and this bundle is signed by ${key.name} (${key.keyId}); the box has no way to hand an app to a key, so the publisher must ship it under another app id.`,
        { app: id, boundKeyId: null, keyId: key.keyId },
      );
    }
    if (app.publisherKeyId !== null && key?.keyId !== app.publisherKeyId) {
      const owner = document.publishers.find((candidate) => candidate.keyId === app.publisherKeyId);
      const by = key ? `by ${key.name} (${key.keyId})` : 'unsigned';
      throw new BivouacError(
        'APP_OTHER_PUBLISHER',
        `${id} is published by ${owner ? `${owner.name} (${app.publisherKeyId})` : `the key ${app.publisherKeyId}`}; only that key may sign its new versions, and this bundle is ${by}.`,
        { app: id, boundKeyId: app.publisherKeyId, keyId: key?.keyId ?? null },
      );
    }
    if (app.versions.some((candidate) => candidate.version === version)) {
      throw new BivouacError(
        'BAD_BUNDLE',
        `${manifest.app.title} ${version} is installed already; a newer version needs a higher version number.`,
        { app: id, version },
      );
    }
    const newest = newestVersion(app.versions);
    if (newest && compareVersions(version, newest.version) < 0 && !allowDowngrade) {
      throw new BivouacError(
        'APP_DOWNGRADE',
        `${id} ${version} is older than ${newest.version}, the newest installed; installing an older version is an administrator's explicit choice (allowDowngrade), and it never becomes the newest.`,
        { app: id, version, newest: newest.version },
      );
    }
  }

  private readModules(text: string, manifest: Manifest): Map<string, ModuleContent> {
    const contents = this.modules.parseStream(text, this.options.parseContent);
    const outside = outsideAppFolder(manifest.app.id, contents);
    if (outside.length > 0) {
      throw new BivouacError(
        'MODULE_OUTSIDE_APP',
        `${manifest.modules} reaches outside ${appFolder(manifest.app.id)}: ${outside.map((problem) => problem.message).join('; ')}.`,
        {
          app: manifest.app.id,
          fields: outside.map((problem) => ({
            field: `${problem.module}.${problem.field}`,
            message: problem.message,
          })),
        },
      );
    }
    const deployed = contents.get(manifest.deploy.module);
    if (!deployed || deployed.kind === 'project') {
      throw new BivouacError(
        'BAD_BUNDLE',
        `deploy.module ${manifest.deploy.module} must be an image or a deployment in ${manifest.modules}.`,
        { module: manifest.deploy.module },
      );
    }
    return contents;
  }

  private async keepAssets(staging: string, target: string, manifest: Manifest): Promise<void> {
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true, mode: 0o755 });
    for (const file of [manifest.app.icon, ...manifest.app.screenshots]) {
      if (!file) continue;
      await mkdir(join(target, file, '..'), { recursive: true });
      await rename(join(staging, file), join(target, file));
    }
  }

  // ---- publish ----

  /**
   * Publishes a module version as an app (without a bundle); a new version of an existing app.
   * Its modules are resolved as the publishing administrator, who must be able to view and run
   * each, and the app version pins every one it reaches (the module, node images, parent chains)
   * at its exact version: deploying the app reaches those on the publisher's authority.
   */
  async publish(
    subject: Subject,
    request: {
      id: string;
      module: string;
      title: string;
      summary: string;
      description: string;
      categories: string[];
      form: FormField[];
      clouds: Record<string, 'box' | 'any'>;
    },
  ): Promise<StoredApp> {
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
    const box = await this.boxPublisher();
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
    this.announce('app.published', request.id, { app: request.id, version: latestOf(app).version });
    return app;
  }

  async setPublished(id: string, published: boolean): Promise<void> {
    await this.store.update((document) => {
      const app = document.apps.find((candidate) => candidate.id === id);
      if (!app) throw new BivouacError('NOT_FOUND', `No app ${id}.`, { resource: 'app', id });
      app.published = published;
    });
    this.announce(published ? 'app.published' : 'app.unpublished', id, { app: id });
  }

  // ---- deploy ----

  /**
   * What deploying would need, checked before anything starts: the whole footprint against the
   * box and the user's quota (each resource with what is used and left), the base images on the
   * chosen clouds, and the placement allowed.
   */
  async preflight(
    subject: Subject,
    id: string,
    request: { placement: Record<string, string>; multiplicity: Record<string, number> },
  ): Promise<Preflight> {
    return (await this.check(subject, id, request)).preflight;
  }

  /** The pre-flight, and the plan it checked, which a deploy makes its run from. */
  private async check(
    subject: Subject,
    id: string,
    request: { placement: Record<string, string>; multiplicity: Record<string, number> },
  ): Promise<{ preflight: Preflight; plan: DeployPlan }> {
    const version = latestOf(this.get(id));
    const { problems } = askedCounts(version.manifest.deploy.form, {}, request.multiplicity);
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const reference = `${version.modules[0]!.path}@${version.modules[0]!.version}`;
    const plan = this.runs.planDeploy(
      subject,
      { module: reference, placement: request.placement, multiplicity: request.multiplicity },
      version.modules,
    );
    const { nodes } = plan;
    const needed = footprint(nodes);
    const checks: PreflightCheck[] = [];
    const refusal = this.reservations.check(subject.userId, needed);
    const usage = this.reservations.report();
    const mine = usage.users.find((user) => user.userId === subject.userId)?.usage;
    for (const resource of resources) {
      const box = usage.box[resource];
      const left = Math.min(
        box.free ?? Number.POSITIVE_INFINITY,
        mine?.[resource].free ?? Number.POSITIVE_INFINITY,
      );
      const failed = refusal?.resource === resource;
      checks.push({
        check: `capacity.${resource}`,
        ok: !failed,
        message: failed
          ? describeRefusal(refusal)
          : `${needed[resource]} ${resourceLabels[resource]} needed; ${Number.isFinite(left) ? left : 'no limit'} left`,
        details: {
          needed: needed[resource],
          used: box.used + box.reserved,
          left: Number.isFinite(left) ? left : null,
        },
      });
    }
    const clouds = version.manifest.deploy.clouds;
    for (const node of nodes) {
      if (clouds[node.name] === 'box' && node.cloudId !== 'box') {
        checks.push({
          check: `placement.${node.name}`,
          ok: false,
          message: `${node.name} may only run on the box.`,
          details: { node: node.name, cloud: node.cloudId },
        });
      }
      const imageName = this.runs.nativeImage(node) ?? undefined;
      const image = imageName ? this.images.find(imageName) : undefined;
      const ok = image?.status === 'ready';
      const hint = version.manifest.deploy.requires.find(
        (required) => required.image === imageName,
      )?.hint;
      const unusable = image?.status === 'unusable';
      checks.push({
        check: `image.${node.name}`,
        ok,
        message: ok
          ? `base image ${image.name} is ready`
          : unusable
            ? `base image ${image.name} cannot be used: ${image.error ?? 'it failed the image check'}`
            : `base image ${imageName ?? '(none)'} is not in the image store${hint ? `: ${hint}` : ''}`,
        details: {
          node: node.name,
          image: imageName ?? null,
          ...(unusable ? { code: 'IMAGE_UNUSABLE', reason: image.error } : {}),
        },
      });
    }
    const placed = nodes.map((node) => ({
      name: node.name,
      cloudId: node.cloudId,
      multiplicity: node.multiplicity,
      resources: node.resources,
      cloudChoice: clouds[node.name] ?? 'any',
    }));
    return {
      preflight: {
        ok: checks.every((check) => check.ok),
        checks,
        footprint: needed,
        nodes: placed,
      },
      plan,
    };
  }

  /** `screenId`: the box screen (kiosk session) deploying, kept on the run. */
  async deploy(
    subject: Subject,
    id: string,
    request: {
      title?: string | undefined;
      parameters: Record<string, string>;
      placement: Record<string, string>;
      multiplicity: Record<string, number>;
    },
    screenId: string | null = null,
  ) {
    const version = latestOf(this.get(id));
    const { counts: multiplicity, problems } = askedCounts(
      version.manifest.deploy.form,
      request.parameters,
      request.multiplicity,
    );
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const { preflight, plan } = await this.check(subject, id, {
      placement: request.placement,
      multiplicity,
    });
    if (!preflight.ok) {
      const failed = preflight.checks.filter((check) => !check.ok);
      throw new BivouacError(
        'PREFLIGHT_FAILED',
        `Cannot deploy: ${failed.map((check) => check.message).join('; ')}.`,
        { checks: failed },
      );
    }
    const parameters = { ...request.parameters };
    for (const field of version.manifest.deploy.form) {
      // A count field sizes its node (above); it is no input of the run.
      if (field.sets === 'multiplicity') {
        delete parameters[field.key];
        continue;
      }
      if (parameters[field.key] === undefined && field.generate)
        parameters[field.key] = randomBytes(18).toString('base64url');
      if (parameters[field.key] === undefined && field.default !== undefined)
        parameters[field.key] = field.default;
    }
    return this.runs.create(
      subject,
      {
        module: `${version.modules[0]!.path}@${version.modules[0]!.version}`,
        title: request.title ?? version.manifest.app.title,
        parameters,
        placement: request.placement,
        multiplicity,
        tags: [`app:${id}`],
        keepRunning: 'always',
      },
      null,
      version.modules,
      screenId,
      plan,
    );
  }

  // ---- export ----

  /**
   * Writes the app's latest version as a bundle signed by this box, with its images if asked. An
   * app that could not install elsewhere as it runs here is refused (APP_NOT_EXPORTABLE) before
   * this returns, so the caller can answer with the error before it starts sending the bundle.
   */
  export(id: string, output: Writable, withImages: boolean): Promise<void> {
    const version = latestOf(this.get(id));
    // It carries the modules inside the app's folder (the store's own folder, /apps, the reader's
    // box makes), referring to each other without this box's version numbers.
    const { modules, problems } = exportedModules(
      id,
      version.modules.map(({ path, version: number }) => ({
        path,
        version: number,
        content: this.modules.pinnedContent(path, number)!,
      })),
    );
    if (problems.length > 0) {
      throw new BivouacError(
        'APP_NOT_EXPORTABLE',
        `${id} ${version.version} cannot be exported: ${problems.join('; ')}.`,
        { app: id, version: version.version, problems },
      );
    }
    return this.writeExport(id, version, modules, output, withImages);
  }

  private async writeExport(
    id: string,
    version: AppVersion,
    modules: { path: string; content: ModuleContent }[],
    output: Writable,
    withImages: boolean,
  ): Promise<void> {
    const box = await this.boxPublisher();
    const manifest = structuredClone(version.manifest);
    // The bundle is signed by this box, so it names this box as its publisher.
    manifest.app.publisher = box.name;
    const entries: BundleEntry[] = [
      {
        path: 'modules.yaml',
        data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
      },
    ];
    const assets = join(this.options.directory, id, version.version);
    for (const file of [manifest.app.icon, ...manifest.app.screenshots]) {
      if (
        file &&
        (await access(join(assets, file)).then(
          () => true,
          () => false,
        ))
      )
        entries.push({ path: file, file: join(assets, file) });
    }
    manifest.images = [];
    if (withImages) {
      const names = new Set(
        modules.flatMap(({ content }) =>
          content.kind === 'image'
            ? Object.values(content.nativeImages).map((native) => native.imageId)
            : [],
        ),
      );
      for (const name of names) {
        const image = this.images.find(name);
        if (!image || image.status !== 'ready') continue;
        const boot = this.images.bootImage(image.id);
        if (boot.kind === 'disk') {
          entries.push({ path: `images/${image.name}/disk.qcow2`, file: boot.path });
          manifest.images.push({
            name: image.name,
            kind: 'disk',
            disk: `images/${image.name}/disk.qcow2`,
          });
        } else {
          entries.push(
            { path: `images/${image.name}/kernel`, file: boot.kernel },
            { path: `images/${image.name}/initrd`, file: boot.initrd },
          );
          manifest.images.push({
            name: image.name,
            kind: 'kernel',
            kernel: `images/${image.name}/kernel`,
            initrd: `images/${image.name}/initrd`,
            cmdline: boot.cmdline,
          });
        }
      }
    }
    entries.push({ path: manifestFile, data: Buffer.from(stringify(manifest)) });
    await writeBundle(output, entries, box.key);
  }

  /**
   * Installs the catalog shipped with the product (one folder per app: manifest.yaml,
   * modules.yaml, icon...), each through the same checks as any bundle, signed by this box.
   * Versions already installed are left alone; an app that fails is reported and skipped.
   */
  async installBuiltIn(
    sourceDir: string,
  ): Promise<{ installed: string[]; failed: { app: string; error: string }[] }> {
    const installed: string[] = [];
    const failed: { app: string; error: string }[] = [];
    const { key, name } = await this.boxPublisher();
    for (const folder of (await readdir(sourceDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()) {
      const root = join(sourceDir, folder);
      try {
        const manifest = Manifest.parse(parse(await readFile(join(root, manifestFile), 'utf8')));
        const installedApp = this.store.data.apps.find((app) => app.id === manifest.app.id);
        // Installed already, or a newer version is: the shipped one is not installed again.
        if (
          installedApp &&
          installedApp.versions.some(
            (version) => compareVersions(version.version, manifest.app.version) >= 0,
          )
        )
          continue;
        // Signed by this box, so it names this box's key as its publisher, whatever the file says.
        manifest.app.publisher = name;
        const entries: BundleEntry[] = [
          { path: manifestFile, data: Buffer.from(stringify(manifest)) },
          ...(await listFiles(root))
            .filter((file) => file !== manifestFile)
            .map((file) => ({ path: file, file: join(root, file) })),
        ];
        const bundlePath = join(this.options.directory, `.staging-built-in-${newId()}.bvc`);
        try {
          await writeBundle(createWriteStream(bundlePath), entries, key);
          await this.install(system, createReadStream(bundlePath), `built-in ${folder}`);
        } finally {
          await rm(bundlePath, { force: true });
        }
        installed.push(manifest.app.id);
      } catch (error) {
        failed.push({ app: folder, error: (error as Error).message });
      }
    }
    return { installed, failed };
  }

  private announce<K extends 'app.installed' | 'app.published' | 'app.unpublished'>(
    type: K,
    id: string,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, id, visibleToAll('system'), data));
  }

  /**
   * An import's own events (started, done, failed) name its source, a path on the box, and carry
   * its errors: only administrators, who import, hear them. Everyone hears `app.installed`.
   */
  private announceImport<K extends 'app.importing' | 'app.import.done' | 'app.import.failed'>(
    type: K,
    source: string,
    data: EventPayloads[K],
  ): void {
    this.events.append(domainEvent(type, source, privateTo('system'), data));
  }

  /** Progress is transient: live screens show it, the log and its replay window never hold it. For administrators, as the import's other events. */
  private reportProgress(source: string, data: EventPayloads['app.import.progress']): void {
    this.events.broadcast(domainEvent('app.import.progress', source, privateTo('system'), data));
  }

  /** Who and what bundles are trusted is for administrators' screens only. */
  private announceTrust<
    K extends 'publisher.trusted' | 'publisher.distrusted' | 'settings.bundles',
  >(type: K, id: string, data: EventPayloads[K]): void {
    this.events.append(domainEvent(type, id, privateTo('system'), data));
  }
}

/** An app's newest version (the highest version number): what the store shows, deploys and exports. */
export function latestOf(app: StoredApp): AppVersion {
  return newestVersion(app.versions)!;
}

/** manifest.yaml's bytes, parsed without aliases and validated. */
function parseManifest(bytes: Buffer): Manifest {
  let raw: unknown;
  try {
    raw = parse(bytes.toString('utf8'), { maxAliasCount: 0 });
  } catch (error) {
    throw new BivouacError(
      'BAD_BUNDLE',
      `manifest.yaml is not valid YAML: ${(error as Error).message}`,
      {},
    );
  }
  const result = Manifest.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({
      field: `manifest.${issue.path.join('.')}`,
      message: issue.message,
    }));
    throw new BivouacError(
      'BAD_BUNDLE',
      `manifest.yaml is invalid: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}.`,
      { fields: problems },
    );
  }
  return result.data;
}

const mib = (bytes: number): number => Math.floor(bytes / 1024 ** 2);

/** Every file under `root`, as bundle paths. */
async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await listFiles(root, path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** A resolved chain's label (`/a/b@3`) as a pin. */
function pinOf(label: string): { path: string; version: number } {
  const at = label.lastIndexOf('@');
  return { path: label.slice(0, at), version: Number(label.slice(at + 1)) };
}

/** VALIDATION_FAILED for `problems`, each named where it is. */
function misfit(what: string, problems: { field: string; message: string }[]): BivouacError {
  return new BivouacError(
    'VALIDATION_FAILED',
    `${what}: ${problems.map((problem) => `${problem.field} ${problem.message}`).join('; ')}.`,
    { fields: problems },
  );
}

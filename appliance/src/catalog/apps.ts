import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { privateTo, visibleToAll, type AclRule, type Subject } from '../domain/access.ts';
import { describeRefusal, resourceLabels, resources, type Amounts } from '../domain/capacity.ts';
import { askedCounts, deployedNodes, formCandidates, formProblems, unaskedInputs } from '../domain/deploy-form.ts';
import type { ModuleContent } from '../domain/modules.ts';
import { footprint } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';
import { fileSource, type ImageStore } from '../host/images.ts';
import { newId } from '../ids.ts';
import type { Reservations } from '../orchestrator/reservations.ts';
import type { Runs } from '../orchestrator/runs.ts';
import type { MainDocument } from '../store/document.ts';
import type { EventLog } from '../store/event-log.ts';
import type { Store } from '../store/store.ts';
import { newSigningKey, stageBundle, verifyBundle, writeBundle, type BundleEntry, type PublisherKey, type SigningKey, type StagedFile } from './bundle.ts';
import { Manifest, type FormField } from './manifest.ts';
import type { ContentParser, Modules } from './modules.ts';

const storeAcl: AclRule[] = [
  { role: 'operator', allow: ['view', 'run'] },
  { role: 'viewer', allow: ['view'] },
];

/** The administrator the box acts as when it installs its own catalog. */
const system: Subject = { userId: 'system', role: 'admin' };

/** An installed (or published) version of an app. */
export interface AppVersion {
  version: string;
  manifest: Manifest;
  /** The modules it installed, at their exact versions; the first is what it deploys. */
  modules: { path: string; version: number }[];
  signed: boolean;
  publisher: string | null;
  installedAt: string;
  installedBy: string;
}

export interface StoredApp {
  id: string;
  published: boolean;
  versions: AppVersion[];
}

export interface TrustedPublisher extends PublisherKey {
  name: string;
  addedAt: string;
}

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

export interface AppsOptions {
  /** `<dataDir>/apps`: assets of installed versions, staging of imports, the box's signing key. */
  directory: string;
  parseContent: ContentParser;
  now?: () => Date;
}

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
      if (entry.startsWith('.staging-')) await rm(join(this.options.directory, entry), { recursive: true, force: true });
    }
  }

  /** The apps in the store, latest version each; with `includeUnpublished`, also those taken out (for administrators, to publish them again). */
  list(includeUnpublished = false): { app: StoredApp; latest: AppVersion }[] {
    return this.store.data.apps.filter((app) => includeUnpublished || app.published).map((app) => ({ app, latest: app.versions.at(-1)! }));
  }

  get(id: string): StoredApp {
    const app = this.store.data.apps.find((candidate) => candidate.id === id);
    if (!app || !app.published) throw new BivouacError('NOT_FOUND', `No app ${id} in the store.`, { resource: 'app', id });
    return app;
  }

  /** A file of an installed version (icon, screenshot), checked against the manifest. */
  assetPath(id: string, version: string, file: string): string {
    const app = this.get(id);
    const found = app.versions.find((candidate) => candidate.version === version);
    const allowed = found ? [found.manifest.app.icon, ...found.manifest.app.screenshots] : [];
    if (!found || !allowed.includes(file)) throw new BivouacError('NOT_FOUND', `App ${id} ${version} has no asset ${file}.`, { resource: 'asset', file });
    return join(this.options.directory, id, version, file);
  }

  // ---- trust ----

  publishers(): readonly TrustedPublisher[] {
    return this.store.data.publishers;
  }

  async trust(name: string, key: PublisherKey): Promise<TrustedPublisher> {
    const publisher: TrustedPublisher = { ...key, name, addedAt: this.now().toISOString() };
    await this.store.update((document) => {
      document.publishers = [...document.publishers.filter((candidate) => candidate.keyId !== key.keyId), publisher];
    });
    this.announceTrust('publisher.trusted', { kind: 'publisher', id: key.keyId }, { name });
    return publisher;
  }

  async distrust(keyId: string): Promise<void> {
    const removed = await this.store.update((document) => {
      const before = document.publishers.length;
      document.publishers = document.publishers.filter((candidate) => candidate.keyId !== keyId);
      return before !== document.publishers.length;
    });
    if (!removed) throw new BivouacError('NOT_FOUND', `No trusted publisher ${keyId}.`, { resource: 'publisher', id: keyId });
    this.announceTrust('publisher.distrusted', { kind: 'publisher', id: keyId }, {});
  }

  get allowUnsigned(): boolean {
    return this.store.data.settings.allowUnsignedBundles;
  }

  async setAllowUnsigned(allow: boolean): Promise<void> {
    await this.store.update((document) => {
      document.settings.allowUnsignedBundles = allow;
    });
    this.announceTrust('settings.bundles', { kind: 'settings', id: 'bundles' }, { allowUnsigned: allow });
  }

  /** The box's own publisher key (made on first use), which it trusts and signs exports with. */
  async signingKey(): Promise<SigningKey> {
    const path = join(this.options.directory, '..', 'publisher-key.json');
    const existing = await readFile(path, 'utf8').catch(() => null);
    if (existing) return JSON.parse(existing) as SigningKey;
    const key = newSigningKey();
    await writeFile(path, JSON.stringify(key), { mode: 0o600, flag: 'wx' }).catch(async () => undefined);
    const kept = JSON.parse(await readFile(path, 'utf8')) as SigningKey;
    if (!this.publishers().some((publisher) => publisher.keyId === kept.keyId)) await this.trust('This box', kept);
    return kept;
  }

  // ---- install ----

  /**
   * Installs a bundle: staged with every safety check, verified (checksums, then signature by a
   * trusted publisher unless unsigned bundles are allowed), its manifest and modules validated,
   * its images imported, then modules and the app recorded in one durable step. Any failure
   * leaves nothing behind.
   */
  async install(subject: Subject, input: Readable, label: string, totalBytes: number | null = null): Promise<{ app: StoredApp; version: AppVersion; warning: string | null }> {
    const staging = join(this.options.directory, `.staging-${newId()}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const importedImages: string[] = [];
    this.announce('app.importing', label, { source: label });
    try {
      let received = 0;
      let lastProgress = 0;
      const counted = new Transform({
        transform: (chunk: Buffer, _encoding, callback) => {
          received += chunk.length;
          if (Date.now() - lastProgress >= 250) {
            lastProgress = Date.now();
            this.reportProgress(label, { source: label, receivedBytes: received, totalBytes });
          }
          callback(null, chunk);
        },
      });
      input.on('error', (error) => counted.destroy(error));
      const files = await stageBundle(input.pipe(counted), staging);
      this.reportProgress(label, { source: label, receivedBytes: received, totalBytes, staged: true });
      const verdict = await verifyBundle(staging, files, this.publishers());
      if (!verdict.signed && !this.allowUnsigned) {
        throw new BivouacError('UNTRUSTED_BUNDLE', `${label} is not signed by a trusted publisher (${verdict.reason}); an administrator can trust its publisher, or allow unsigned bundles.`, { reason: verdict.reason });
      }
      const manifest = await this.readManifest(staging, files);
      const contents = await this.readModules(staging, files, manifest);
      // Staging and checking run side by side; installing is one at a time, so two imports of
      // the same app or image never race.
      const result = await this.serialized(async () => {
        if (this.store.data.apps.some((app) => app.id === manifest.app.id && app.versions.some((candidate) => candidate.version === manifest.app.version))) {
          throw new BivouacError('BAD_BUNDLE', `${manifest.app.title} ${manifest.app.version} is installed already; a newer version needs a higher version number.`, { app: manifest.app.id, version: manifest.app.version });
        }
        for (const image of manifest.images) {
          const existing = this.images.list().find((candidate) => candidate.name === image.name && candidate.status === 'ready');
          const wanted = image.kind === 'disk' ? { disk: files.get(image.disk)!.sha256 } : { kernel: files.get(image.kernel)!.sha256, initrd: files.get(image.initrd)!.sha256 };
          if (existing && JSON.stringify(existing.sha256) === JSON.stringify(wanted)) continue;
          if (existing) throw new BivouacError('BAD_BUNDLE', `The bundle's image "${image.name}" differs from the image of that name on this box; rename one of them.`, { image: image.name });
          const sources =
            image.kind === 'disk'
              ? { kind: 'disk' as const, disk: await fileSource(join(staging, image.disk), wanted.disk) }
              : { kind: 'kernel' as const, kernel: await fileSource(join(staging, image.kernel), wanted.kernel), initrd: await fileSource(join(staging, image.initrd), wanted.initrd), cmdline: image.cmdline };
          const started = await this.images.startImport(image.name, sources, subject.userId);
          importedImages.push(started.image.id);
          await started.done;
        }
        // What the store installs, everyone may see and operators may deploy.
        const prepared = this.modules.prepare(subject, contents, `installed ${manifest.app.id} ${manifest.app.version}`, { pin: true, acl: storeAcl });
        const stamp = this.now().toISOString();
        const result = await this.store.update((document) => {
          const app = document.apps.find((candidate) => candidate.id === manifest.app.id);
          if (app?.versions.some((candidate) => candidate.version === manifest.app.version)) {
            throw new BivouacError('BAD_BUNDLE', `${manifest.app.title} ${manifest.app.version} is installed already; a newer version needs a higher version number.`, { app: manifest.app.id, version: manifest.app.version });
          }
          const saved = prepared.apply(document);
          const deployed = saved.find((module) => module.path === manifest.deploy.module)!;
          const version: AppVersion = {
            version: manifest.app.version,
            manifest,
            modules: [{ path: deployed.path, version: deployed.version }, ...saved.filter((module) => module !== deployed).map((module) => ({ path: module.path, version: module.version }))],
            signed: verdict.signed,
            publisher: verdict.signed ? verdict.publisher.keyId : null,
            installedAt: stamp,
            installedBy: subject.userId,
          };
          const stored = app ?? { id: manifest.app.id, published: true, versions: [] };
          stored.versions.push(version);
          stored.published = true;
          if (!app) document.apps.push(stored);
          return { saved, app: structuredClone(stored), version };
        });
        prepared.announce(result.saved);
        return result;
      });
      await this.keepAssets(staging, join(this.options.directory, manifest.app.id, manifest.app.version), manifest);
      const warning = verdict.signed ? null : `Installed unsigned: ${verdict.reason}.`;
      // The source, as in every event of this install, so screens end its progress by the event.
      this.announce('app.installed', manifest.app.id, { app: manifest.app.id, version: manifest.app.version, signed: verdict.signed, warning, source: label });
      return { app: result.app, version: result.version, warning };
    } catch (error) {
      for (const id of importedImages) await this.images.delete(id).catch(() => undefined);
      this.announce('app.import.failed', label, { source: label, error: (error as Error).message });
      throw error;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private queue: Promise<unknown> = Promise.resolve();

  /** Runs `work` after every install started before it has finished. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readManifest(staging: string, files: Map<string, StagedFile>): Promise<Manifest> {
    if (!files.has('manifest.yaml')) throw new BivouacError('BAD_BUNDLE', 'The bundle has no manifest.yaml.', {});
    let raw: unknown;
    try {
      raw = parse(await readFile(join(staging, 'manifest.yaml'), 'utf8'), { maxAliasCount: 0 });
    } catch (error) {
      throw new BivouacError('BAD_BUNDLE', `manifest.yaml is not valid YAML: ${(error as Error).message}`, {});
    }
    const result = Manifest.safeParse(raw);
    if (!result.success) {
      const problems = result.error.issues.map((issue) => ({ field: `manifest.${issue.path.join('.')}`, message: issue.message }));
      throw new BivouacError('BAD_BUNDLE', `manifest.yaml is invalid: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}.`, { fields: problems });
    }
    const manifest = result.data;
    const named = [manifest.modules, manifest.app.icon, ...manifest.app.screenshots, ...manifest.images.flatMap((image) => (image.kind === 'disk' ? [image.disk] : [image.kernel, image.initrd]))];
    for (const file of named) if (file && !files.has(file)) throw new BivouacError('BAD_BUNDLE', `manifest.yaml names ${file}, which is not in the bundle.`, { entry: file });
    return manifest;
  }

  private async readModules(staging: string, files: Map<string, StagedFile>, manifest: Manifest): Promise<Map<string, ModuleContent>> {
    const text = await readFile(join(staging, manifest.modules), 'utf8');
    if (files.get(manifest.modules)!.sizeBytes > 4 * 1024 * 1024) throw new BivouacError('BAD_BUNDLE', `${manifest.modules} is larger than 4 MiB.`, {});
    const contents = this.modules.parseStream(text, this.options.parseContent);
    const deployed = contents.get(manifest.deploy.module);
    if (!deployed || deployed.kind === 'project') {
      throw new BivouacError('BAD_BUNDLE', `deploy.module ${manifest.deploy.module} must be an image or a deployment in ${manifest.modules}.`, { module: manifest.deploy.module });
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

  /** Publishes a module version as an app (without a bundle); a new version of an existing app. */
  async publish(subject: Subject, request: { id: string; module: string; title: string; summary: string; description: string; categories: string[]; form: FormField[]; clouds: Record<string, 'box' | 'any'> }): Promise<StoredApp> {
    const module = this.modules.get(subject, request.module);
    if (module.kind === 'project') throw new BivouacError('VALIDATION_FAILED', `${module.path} is a project; publish an image or a deployment.`, { fields: [{ field: 'module', message: 'must be an image or a deployment' }] });
    const nodes = deployedNodes(module.path, module.version, module.content);
    const candidates = formCandidates(nodes, nodes.nodes.map((node) => this.modules.resolveImage(node.image)));
    const problems = formProblems(nodes, candidates, request.form, request.clouds);
    if (problems.length > 0) throw misfit(`The deploy form does not fit ${module.path}@${module.version}`, problems);
    const unasked = unaskedInputs(candidates, request.form.filter((field) => field.sets === 'input').map((field) => field.key));
    if (unasked.length > 0) {
      throw new BivouacError('FORM_INCOMPLETE', `The deploy form must ask for ${unasked.join(', ')}: ${unasked.length === 1 ? 'it has' : 'they have'} no value from a default or a mapping, and a run cannot start without ${unasked.length === 1 ? 'it' : 'them'}.`, { inputs: unasked });
    }
    const existing = this.store.data.apps.find((app) => app.id === request.id);
    const version = `${(existing?.versions.length ?? 0) + 1}.0.0`;
    const manifest = Manifest.parse({
      format: 1,
      app: { id: request.id, version, title: request.title, summary: request.summary, description: request.description, categories: request.categories, publisher: 'This box' },
      deploy: { module: module.path, form: request.form, clouds: request.clouds },
    });
    const app = await this.store.update((document) => {
      const stored = document.apps.find((candidate) => candidate.id === request.id) ?? { id: request.id, published: true, versions: [] };
      stored.versions.push({ version, manifest, modules: [{ path: module.path, version: module.version }], signed: false, publisher: null, installedAt: this.now().toISOString(), installedBy: subject.userId });
      stored.published = true;
      if (!document.apps.includes(stored)) document.apps.push(stored);
      return structuredClone(stored);
    });
    this.announce('app.published', request.id, { app: request.id, version });
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
  async preflight(subject: Subject, id: string, request: { placement: Record<string, string>; multiplicity: Record<string, number> }): Promise<{ ok: boolean; checks: PreflightCheck[]; footprint: Amounts; nodes: PreflightNode[] }> {
    const app = this.get(id);
    const version = app.versions.at(-1)!;
    const { problems } = askedCounts(version.manifest.deploy.form, {}, request.multiplicity);
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const reference = `${version.modules[0]!.path}@${version.modules[0]!.version}`;
    const nodes = this.runs.resolve(subject, reference, request.placement, request.multiplicity);
    const needed = footprint(nodes);
    const checks: PreflightCheck[] = [];
    const refusal = this.reservations.check(subject.userId, needed);
    const usage = this.reservations.report();
    const mine = usage.users.find((user) => user.userId === subject.userId)?.usage;
    for (const resource of resources) {
      const box = usage.box[resource];
      const left = Math.min(box.free ?? Number.POSITIVE_INFINITY, mine?.[resource].free ?? Number.POSITIVE_INFINITY);
      const failed = refusal?.resource === resource;
      checks.push({
        check: `capacity.${resource}`,
        ok: !failed,
        message: failed ? describeRefusal(refusal) : `${needed[resource]} ${resourceLabels[resource]} needed; ${Number.isFinite(left) ? left : 'no limit'} left`,
        details: { needed: needed[resource], used: box.used + box.reserved, left: Number.isFinite(left) ? left : null },
      });
    }
    // VM disks on the box are thin overlays that can grow to their full size: that much must be free.
    const onBox = footprint(nodes.filter((node) => node.cloudId === 'box')).diskGiB * 1024 ** 3;
    const free = await this.images.freeSpace();
    checks.push({
      check: 'disk',
      ok: onBox <= free,
      message: onBox <= free ? `${onBox / 1024 ** 3} GiB of VM disks fit in the ${Math.floor(free / 1024 ** 3)} GiB free` : `Not enough disk space: the VM disks may grow to ${onBox / 1024 ** 3} GiB, only ${Math.floor(free / 1024 ** 3)} GiB are free on the box.`,
      details: { neededBytes: onBox, freeBytes: free },
    });
    const clouds = version.manifest.deploy.clouds;
    for (const node of nodes) {
      if (clouds[node.name] === 'box' && node.cloudId !== 'box') {
        checks.push({ check: `placement.${node.name}`, ok: false, message: `${node.name} may only run on the box.`, details: { node: node.name, cloud: node.cloudId } });
      }
      const imageName = node.nativeImages.libvirt?.imageId;
      const image = imageName ? this.images.find(imageName) : undefined;
      const ok = image?.status === 'ready';
      const hint = version.manifest.deploy.requires.find((required) => required.image === imageName)?.hint;
      checks.push({
        check: `image.${node.name}`,
        ok,
        message: ok ? `base image ${image.name} is ready` : `base image ${imageName ?? '(none)'} is not in the image store${hint ? `: ${hint}` : ''}`,
        details: { node: node.name, image: imageName ?? null },
      });
    }
    const placed = nodes.map((node) => ({ name: node.name, cloudId: node.cloudId, multiplicity: node.multiplicity, resources: node.resources, cloudChoice: clouds[node.name] ?? 'any' }));
    return { ok: checks.every((check) => check.ok), checks, footprint: needed, nodes: placed };
  }

  /** `screenId`: the box screen (kiosk session) deploying, kept on the run. */
  async deploy(subject: Subject, id: string, request: { title?: string | undefined; parameters: Record<string, string>; placement: Record<string, string>; multiplicity: Record<string, number> }, screenId: string | null = null) {
    const version = this.get(id).versions.at(-1)!;
    const { counts: multiplicity, problems } = askedCounts(version.manifest.deploy.form, request.parameters, request.multiplicity);
    if (problems.length > 0) throw misfit('Instance counts out of bounds', problems);
    const preflight = await this.preflight(subject, id, { placement: request.placement, multiplicity });
    if (!preflight.ok) {
      const failed = preflight.checks.filter((check) => !check.ok);
      throw new BivouacError('PREFLIGHT_FAILED', `Cannot deploy: ${failed.map((check) => check.message).join('; ')}.`, { checks: failed });
    }
    const parameters = { ...request.parameters };
    for (const field of version.manifest.deploy.form) {
      // A count field sizes its node (above); it is no input of the run.
      if (field.sets === 'multiplicity') {
        delete parameters[field.key];
        continue;
      }
      if (parameters[field.key] === undefined && field.generate) parameters[field.key] = randomBytes(18).toString('base64url');
      if (parameters[field.key] === undefined && field.default !== undefined) parameters[field.key] = field.default;
    }
    return this.runs.create(subject, {
      module: `${version.modules[0]!.path}@${version.modules[0]!.version}`,
      title: request.title ?? version.manifest.app.title,
      parameters,
      placement: request.placement,
      multiplicity,
      tags: [`app:${id}`],
      keepRunning: 'always',
    }, null, screenId);
  }

  // ---- export ----

  /** Writes the app's latest version as a bundle signed by this box, with its images if asked. */
  async export(id: string, output: Writable, withImages: boolean): Promise<void> {
    const version = this.get(id).versions.at(-1)!;
    const manifest = structuredClone(version.manifest);
    const modules = version.modules.map(({ path, version: number }) => ({ path, content: this.modules.lookup(path, number)!.content }));
    const entries: BundleEntry[] = [{ path: 'modules.yaml', data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')) }];
    const assets = join(this.options.directory, id, version.version);
    for (const file of [manifest.app.icon, ...manifest.app.screenshots]) {
      if (file && (await access(join(assets, file)).then(() => true, () => false))) entries.push({ path: file, file: join(assets, file) });
    }
    manifest.images = [];
    if (withImages) {
      const names = new Set(modules.flatMap(({ content }) => (content.kind === 'image' && content.nativeImages.libvirt ? [content.nativeImages.libvirt.imageId] : [])));
      for (const name of names) {
        const image = this.images.find(name);
        if (!image || image.status !== 'ready') continue;
        const boot = this.images.bootImage(image.id);
        if (boot.kind === 'disk') {
          entries.push({ path: `images/${image.name}/disk.qcow2`, file: boot.path });
          manifest.images.push({ name: image.name, kind: 'disk', disk: `images/${image.name}/disk.qcow2` });
        } else {
          entries.push({ path: `images/${image.name}/kernel`, file: boot.kernel }, { path: `images/${image.name}/initrd`, file: boot.initrd });
          manifest.images.push({ name: image.name, kind: 'kernel', kernel: `images/${image.name}/kernel`, initrd: `images/${image.name}/initrd`, cmdline: boot.cmdline });
        }
      }
    }
    entries.push({ path: 'manifest.yaml', data: Buffer.from(stringify(manifest)) });
    await writeBundle(output, entries, await this.signingKey());
  }

  /**
   * Installs the catalog shipped with the product (one folder per app: manifest.yaml,
   * modules.yaml, icon…), each through the same checks as any bundle, signed by this box.
   * Versions already installed are left alone; an app that fails is reported and skipped.
   */
  async installBuiltIn(sourceDir: string): Promise<{ installed: string[]; failed: { app: string; error: string }[] }> {
    const installed: string[] = [];
    const failed: { app: string; error: string }[] = [];
    const key = await this.signingKey();
    for (const folder of (await readdir(sourceDir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()) {
      const root = join(sourceDir, folder);
      try {
        const manifest = Manifest.parse(parse(await readFile(join(root, 'manifest.yaml'), 'utf8')));
        if (this.store.data.apps.some((app) => app.id === manifest.app.id && app.versions.some((version) => version.version === manifest.app.version))) continue;
        const entries: BundleEntry[] = (await listFiles(root)).map((file) => ({ path: file, file: join(root, file) }));
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

  /** Bundles (`*.bvc`) on mounted removable media, for import by path. */
  async removableBundles(roots: readonly string[] = ['/media', '/mnt', '/run/media']): Promise<{ path: string; sizeBytes: number }[]> {
    const found: { path: string; sizeBytes: number }[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      if (depth > 3) return;
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path, depth + 1);
        else if (entry.isFile() && entry.name.endsWith('.bvc')) found.push({ path, sizeBytes: (await stat(path)).size });
      }
    };
    for (const root of roots) await walk(root, 0);
    return found;
  }

  private announce(type: string, id: string, data: Record<string, unknown>): void {
    this.events.append({ type, subject: { kind: 'app', id }, access: visibleToAll('system'), data });
  }

  /** Progress is transient: live screens show it, the log and its replay window never hold it. */
  private reportProgress(source: string, data: Record<string, unknown>): void {
    this.events.broadcast({ type: 'app.import.progress', subject: { kind: 'app', id: source }, access: visibleToAll('system'), data });
  }

  /** Who and what bundles are trusted is for administrators' screens only. */
  private announceTrust(type: string, subject: { kind: string; id: string }, data: Record<string, unknown>): void {
    this.events.append({ type, subject, access: privateTo('system'), data });
  }
}

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

/** VALIDATION_FAILED for `problems`, each named where it is. */
function misfit(what: string, problems: { field: string; message: string }[]): BivouacError {
  return new BivouacError('VALIDATION_FAILED', `${what}: ${problems.map((problem) => `${problem.field} ${problem.message}`).join('; ')}.`, { fields: problems });
}

import { ReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { AclRule, Subject } from '../domain/access.ts';
import { appFolder } from '../domain/app-trust.ts';
import type { AppVersion, StoredApp } from '../domain/apps.ts';
import { limits } from '../domain/limits.ts';
import type { Manifest } from '../domain/manifest.ts';
import { BivouacError } from '../errors.ts';
import { fileSource } from '../host/image-files.ts';
import type { ImageStore } from '../host/images.ts';
import { newId } from '../ids.ts';
import type { ContentParser, Modules } from '../library/modules.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import {
  admit,
  admitModules,
  checkPublisher,
  modulesTextOf,
  type Admission,
} from './app-admission.ts';
import type { AppEvents } from './app-events.ts';
import { readBundle, type StagedFile } from './bundle.ts';
import type { Publishers } from './publishers.ts';

/** What the store installs, everyone may see and operators may deploy. */
const storeAcl: AclRule[] = [
  { role: 'operator', allow: ['view', 'run'] },
  { role: 'viewer', allow: ['view'] },
];

export interface AppInstallerOptions {
  /** `<dataDir>/apps`: assets of installed versions, staging of imports. */
  directory: string;
  parseContent: ContentParser;
  /** Disk space an install leaves free (default: limits.diskReserveBytes). */
  reserveBytes?: number;
  now: () => Date;
}

/** An installed version, and the warning an unsigned install carries. */
export interface Installed {
  app: StoredApp;
  version: AppVersion;
  warning: string | null;
}

/**
 * Installs bundles, verified and all or nothing: staged in a private folder, their images
 * imported, their modules and the app recorded in one durable step, their assets kept.
 */
export class AppInstaller {
  private readonly reading = new Set<Readable>();
  private closed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly events: AppEvents,
    private readonly modules: Modules,
    private readonly images: ImageStore,
    private readonly publishers: Publishers,
    private readonly options: AppInstallerOptions,
  ) {}

  /** Sweeps imports a crash interrupted. */
  async recover(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true, mode: 0o700 });
    for (const entry of await readdir(this.options.directory)) {
      if (entry.startsWith('.staging-'))
        await rm(join(this.options.directory, entry), { recursive: true, force: true });
    }
  }

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
  ): Promise<Installed> {
    if (this.closed) throw shuttingDown();
    const staging = join(this.options.directory, `.staging-${newId()}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const importedImages: string[] = [];
    this.reading.add(input);
    this.events.announceImport('app.importing', label, { source: label });
    try {
      if (totalBytes !== null) await this.checkBundleSize(totalBytes);
      let lastProgress = 0;
      let received = 0;
      // What `admit` decided on the bundle's head; readBundle resolves only after it has.
      const decided: { admission?: Admission } = {};
      const read = await readBundle(input, staging, {
        trusted: this.publishers.publishers(),
        spaceLeft: () => this.spaceLeft(),
        onReceived: (bytes) => {
          received = bytes;
          if (Date.now() - lastProgress < 250) return;
          lastProgress = Date.now();
          this.events.reportProgress(label, { source: label, receivedBytes: received, totalBytes });
        },
        admit: async (head) => {
          decided.admission = admit(this.store.data, head, allowDowngrade, label);
          return {
            inMemory: new Map([[decided.admission.manifest.modules, limits.bundleModulesBytes]]),
          };
        },
      });
      if (!decided.admission)
        throw new Error('bug: a bundle was read without a decision on its head');
      const { manifest, verdict } = decided.admission;
      this.events.reportProgress(label, {
        source: label,
        receivedBytes: received,
        totalBytes,
        staged: true,
      });
      const contents = admitModules(
        this.modules.parseStream(modulesTextOf(manifest, read), this.options.parseContent),
        manifest,
      );
      // Staging and checking run side by side; installing is one at a time, so two imports of
      // the same app or image never race.
      const result = await this.serialized(async () => {
        checkPublisher(this.store.data, manifest, verdict, allowDowngrade);
        await this.importImages(subject, manifest, read.files, staging, importedImages);
        // The box makes the store's folders itself; a bundle writes only inside its app's folder.
        const pending = new Map(contents);
        const folder = appFolder(manifest.app.id);
        if (!this.modules.exists('/apps'))
          pending.set('/apps', { kind: 'project', description: 'Apps installed from the store' });
        if (!pending.has(folder) && !this.modules.exists(folder))
          pending.set(folder, { kind: 'project' });
        const prepared = this.modules.prepare(
          subject,
          pending,
          `installed ${manifest.app.id} ${manifest.app.version}`,
          { pin: true, acl: storeAcl },
        );
        const stamp = this.options.now().toISOString();
        const result = await this.store.update((document) => {
          checkPublisher(document, manifest, verdict, allowDowngrade);
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
      this.events.announce('app.installed', manifest.app.id, {
        app: manifest.app.id,
        version: manifest.app.version,
        signed: verdict.signed,
      });
      // The source, as in every event of this install, so screens end its progress by the event.
      this.events.announceImport('app.import.done', label, {
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
      this.events.announceImport('app.import.failed', label, {
        source: label,
        error: (error as Error).message,
      });
      throw error;
    } finally {
      this.reading.delete(input);
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Shutdown: installs still reading their bundle are abandoned (they leave nothing behind), new ones refused. */
  close(): void {
    this.closed = true;
    for (const input of this.reading) input.destroy(shuttingDown());
  }

  /**
   * Imports the bundle's images from `staging`, each id into `imported` as it starts (for the
   * install to delete should it fail). An image the box holds already with the same files is
   * used as it is; one of the same name with other files is refused.
   */
  private async importImages(
    subject: Subject,
    manifest: Manifest,
    files: ReadonlyMap<string, StagedFile>,
    staging: string,
    imported: string[],
  ): Promise<void> {
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
      imported.push(started.image.id);
      await started.done;
    }
  }

  /** Bytes an install may still write: free space less the reserve. */
  private async spaceLeft(): Promise<number> {
    return (await this.images.freeSpace()) - (this.options.reserveBytes ?? limits.diskReserveBytes);
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

  /** Runs `work` after every install started before it has finished. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
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
}

function shuttingDown(): BivouacError {
  return new BivouacError(
    'SHUTTING_DOWN',
    'The appliance is shutting down; import the bundle again once it is back.',
  );
}

const mib = (bytes: number): number => Math.floor(bytes / 1024 ** 2);

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { exportedModules } from '../domain/app-trust.ts';
import type { AppVersion } from '../domain/apps.ts';
import type { ModuleContent } from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import type { ImageStore } from '../host/images.ts';
import type { Modules } from '../library/modules.ts';
import { latestOf, type AppListing } from './app-listing.ts';
import { manifestFile, writeBundle, type BundleEntry } from './bundle.ts';
import type { Publishers } from './publishers.ts';

/** An app's latest version written out as a bundle signed by this box, for another box to install. */
export class AppExports {
  constructor(
    private readonly listing: AppListing,
    private readonly modules: Modules,
    private readonly images: ImageStore,
    private readonly publishers: Publishers,
    /** `<dataDir>/apps`, where installed versions keep their assets. */
    private readonly directory: string,
  ) {}

  /**
   * Writes the app's latest version as a bundle signed by this box, with its images if asked. An
   * app that could not install elsewhere as it runs here is refused (APP_NOT_EXPORTABLE) before
   * this returns, so the caller can answer with the error before it starts sending the bundle.
   */
  export(id: string, output: Writable, withImages: boolean): Promise<void> {
    const version = latestOf(this.listing.get(id));
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
    const box = await this.publishers.boxPublisher();
    const manifest = structuredClone(version.manifest);
    // The bundle is signed by this box, so it names this box as its publisher.
    manifest.app.publisher = box.name;
    const entries: BundleEntry[] = [
      {
        path: 'modules.yaml',
        data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
      },
    ];
    const assets = join(this.directory, id, version.version);
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
}

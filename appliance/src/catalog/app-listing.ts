import { join } from 'node:path';
import { newestVersion } from '../domain/app-trust.ts';
import type { AppVersion, StoredApp } from '../domain/apps.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';

/** The store as people browse it: the apps, one app, and the files its versions show. */
export class AppListing {
  constructor(
    private readonly store: Store<MainDocument>,
    /** `<dataDir>/apps`, where installed versions keep their assets. */
    private readonly directory: string,
  ) {}

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
    return join(this.directory, id, version, file);
  }
}

/** An app's newest version (the highest version number): what the store shows, deploys and exports. */
export function latestOf(app: StoredApp): AppVersion {
  return newestVersion(app.versions)!;
}

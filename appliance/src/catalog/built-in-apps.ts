import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Subject } from '../domain/access.ts';
import { compareVersions } from '../domain/app-trust.ts';
import { Manifest } from '../domain/manifest.ts';
import { newId } from '../ids.ts';
import type { MainDocument } from '../store/document.ts';
import type { Store } from '../store/store.ts';
import type { AppInstaller } from './app-install.ts';
import { manifestFile, writeBundle, type BundleEntry } from './bundle.ts';
import type { Publishers } from './publishers.ts';

/** The administrator the box acts as when it installs its own catalog. */
const system: Subject = { userId: 'system', role: 'admin' };

/** What installing the shipped catalog uses: the store's apps, the box's key, the installer. */
export interface BuiltInParts {
  store: Store<MainDocument>;
  publishers: Publishers;
  installer: AppInstaller;
  /** `<dataDir>/apps`, where each app's bundle is written (as a staging file) to be installed. */
  directory: string;
}

/**
 * Installs the catalog shipped with the product (one folder per app: manifest.yaml,
 * modules.yaml, icon...), each through the same checks as any bundle, signed by this box.
 * Versions already installed are left alone; an app that fails is reported and skipped.
 */
export async function installBuiltIn(
  sourceDir: string,
  parts: BuiltInParts,
): Promise<{ installed: string[]; failed: { app: string; error: string }[] }> {
  const installed: string[] = [];
  const failed: { app: string; error: string }[] = [];
  const { key, name } = await parts.publishers.boxPublisher();
  for (const folder of (await readdir(sourceDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()) {
    const root = join(sourceDir, folder);
    try {
      const manifest = Manifest.parse(parse(await readFile(join(root, manifestFile), 'utf8')));
      const installedApp = parts.store.data.apps.find((app) => app.id === manifest.app.id);
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
      const bundlePath = join(parts.directory, `.staging-built-in-${newId()}.bvc`);
      try {
        await writeBundle(createWriteStream(bundlePath), entries, key);
        await parts.installer.install(system, createReadStream(bundlePath), `built-in ${folder}`);
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

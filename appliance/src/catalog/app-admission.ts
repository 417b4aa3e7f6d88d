import { parse } from 'yaml';
import {
  appFolder,
  compareVersions,
  newestVersion,
  outsideAppFolder,
  signsFor,
} from '../domain/app-trust.ts';
import type { PublisherKey, TrustedPublisher } from '../domain/apps.ts';
import { Manifest } from '../domain/manifest.ts';
import type { ModuleContent } from '../domain/modules.ts';
import { BivouacError } from '../errors.ts';
import type { MainDocument } from '../store/document.ts';
import { manifestFile, type BundleHead, type ReadBundle, type Verdict } from './bundle.ts';

/** A bundle's head, judged: its manifest and who signed it. */
export interface Admission {
  manifest: Manifest;
  verdict: Verdict<TrustedPublisher>;
}

/**
 * The decision on a bundle's head, before any of its files is written: trusted (or unsigned and
 * allowed), a valid manifest naming only files CHECKSUMS lists, and a publisher and version the
 * app may take.
 */
export function admit(
  document: MainDocument,
  head: BundleHead<TrustedPublisher>,
  allowDowngrade: boolean,
  label: string,
): Admission {
  const { verdict } = head;
  if (!verdict.signed && !document.settings.allowUnsignedBundles) {
    throw new BivouacError(
      'UNTRUSTED_BUNDLE',
      `${label} is not signed by a trusted publisher (${verdict.reason}); an administrator can trust its publisher, or allow unsigned bundles.`,
      { reason: verdict.reason },
    );
  }
  const manifest = parseManifest(head.manifest);
  const named = [manifest.modules, ...filesOnDisk(manifest)];
  for (const file of named)
    if (file && (!head.listed.has(file) || file === manifestFile)) throw notInBundle(file);
  checkPublisher(document, manifest, verdict, allowDowngrade);
  return { manifest, verdict };
}

/**
 * The text of the modules file the manifest names, once the bundle is read: every file the
 * manifest names must be in it (on disk, or the modules file in memory).
 */
export function modulesTextOf(manifest: Manifest, read: ReadBundle<PublisherKey>): string {
  const modulesText = read.inMemory.get(manifest.modules);
  for (const file of filesOnDisk(manifest))
    if (file && !read.files.has(file)) throw notInBundle(file);
  if (!modulesText) throw notInBundle(manifest.modules);
  return modulesText.toString('utf8');
}

/**
 * The rules that bind an app to its publisher, checked against `document` (at admission, and
 * again inside the install's store update): the key signs for the app id, the manifest names
 * the key's publisher, a bound app takes versions only from its key, and versions only grow.
 */
export function checkPublisher(
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

/**
 * The bundle's modules, as parsed from its modules file, checked: they stay inside the app's
 * folder, and the module the app deploys is an image or a deployment among them.
 */
export function admitModules(
  contents: Map<string, ModuleContent>,
  manifest: Manifest,
): Map<string, ModuleContent> {
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

/** The files a manifest names that an install writes to disk: icon, screenshots, images. */
function filesOnDisk(manifest: Manifest): (string | undefined)[] {
  return [
    manifest.app.icon,
    ...manifest.app.screenshots,
    ...manifest.images.flatMap((image) =>
      image.kind === 'disk' ? [image.disk] : [image.kernel, image.initrd],
    ),
  ];
}

function notInBundle(file: string): BivouacError {
  return new BivouacError(
    'BAD_BUNDLE',
    `manifest.yaml names ${file}, which is not in the bundle.`,
    {
      entry: file,
    },
  );
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

import type { ParameterType } from './modules.ts';

/**
 * The app store's records as the main document stores them. They are written out here rather
 * than inferred from the bundle manifest's schema (catalog/manifest.ts), so a change to the
 * bundle format cannot change what is stored unnoticed: an installed manifest is assigned to
 * `StoredManifest`, and a format that no longer fits fails the type check until this shape, and
 * a migration of stored apps, follow it.
 */

/** One field of an app's deploy form, as stored. */
export interface StoredFormField {
  key: string;
  label: string;
  type: ParameterType;
  help?: string | undefined;
  default?: string | undefined;
  options?: string[] | undefined;
  required: boolean;
  generate: boolean;
  sets: 'input' | 'multiplicity';
  min?: number | undefined;
  max?: number | undefined;
}

/** A base image an app ships, as stored. */
export type StoredManifestImage =
  | { name: string; kind: 'disk'; disk: string }
  | { name: string; kind: 'kernel'; kernel: string; initrd: string; cmdline: string };

/** An installed app version's manifest, as stored. */
export interface StoredManifest {
  format: 1;
  app: {
    id: string;
    version: string;
    title: string;
    summary: string;
    description: string;
    categories: string[];
    publisher: string;
    icon?: string | undefined;
    screenshots: string[];
  };
  deploy: {
    module: string;
    form: StoredFormField[];
    clouds: Record<string, 'box' | 'any'>;
    requires: { image: string; hint: string }[];
  };
  modules: string;
  images: StoredManifestImage[];
}

/** An installed (or published) version of an app. */
export interface AppVersion {
  version: string;
  manifest: StoredManifest;
  /** The modules it installed, at their exact versions; the first is what it deploys. */
  modules: { path: string; version: number }[];
  /** Installed from a bundle whose signature by a trusted key was checked. */
  signed: boolean;
  /** The key id that vouches for it: the bundle's signer, or this box's key for an app published here; null when unsigned. */
  publisher: string | null;
  /** That key's trusted name when it was installed: what the store shows as the publisher (never the manifest's words). */
  publisherName: string | null;
  installedAt: string;
  installedBy: string;
}

export interface StoredApp {
  id: string;
  published: boolean;
  /**
   * The key the app is bound to, recorded when a signed install creates it (or by a publish on
   * this box): later versions must be signed by it. Null for an app created unsigned (or published
   * here before apps were bound to keys), which then refuses every signed bundle.
   */
  publisherKeyId: string | null;
  /** In the order they were installed; the newest is the highest version (`newestVersion`). */
  versions: AppVersion[];
}

/** A publisher's public key. */
export interface PublisherKey {
  /** The first 16 hex digits of the sha256 of the raw public key. */
  keyId: string;
  /** The raw 32-byte ed25519 public key, base64. */
  publicKey: string;
}

export interface TrustedPublisher extends PublisherKey {
  /** What the store shows as the publisher of its apps; a bundle's manifest must name the same. */
  name: string;
  /** The app ids the key signs for: `acme-crm`, `acme-*`, or `*` (see domain/app-trust.ts). */
  appIds: string[];
  addedAt: string;
}

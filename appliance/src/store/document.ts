import type { AclRule } from '../domain/access.ts';
import type { Quota, Reservation } from '../domain/capacity.ts';
import type { ModuleContent } from '../domain/modules.ts';
import type { StoredRun } from '../domain/runs.ts';
import type { StoredApp, TrustedPublisher } from '../domain/apps.ts';
import type { User } from '../domain/users.ts';
import type { VmRecord } from '../domain/vms.ts';

export type { StoredRun };

/** A signed-in browser session. Only the hash of its cookie value is kept. */
export interface Session {
  id: string;
  tokenHash: string;
  userId: string;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
  /** Locked to the app store (the box's screen) until the kiosk PIN is given. */
  kiosk?: boolean;
  /**
   * Set on a kiosk session: one the box's own screen opened on the local listener, naming the
   * screen (an id the shell keeps across restarts). Only such a session may lock itself or try
   * the PIN, and it is valid only on the local listener.
   */
  screenId?: string;
}

/** A bearer token for the CLI and scripts. Shown once at creation; only its hash is kept. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  createdAt: string;
}

/**
 * The main document: small, slowly changing state. High-churn data (events, metric samples)
 * lives in its own files beside it.
 */
export interface MainDocument {
  schemaVersion: number;
  users: User[];
  sessions: Session[];
  apiTokens: ApiToken[];
  /** Footprints held by runs, reserved before anything launches. */
  reservations: Reservation[];
  /** Per-user limits inside the box's capacity, by user id. */
  quotas: Record<string, Quota>;
  /** Connector instances added by administrators; the box's own cloud is not stored. */
  clouds: StoredCloud[];
  /** VMs Bivouac launched; gone ones are kept until their run is deleted. */
  vms: VmRecord[];
  /** Base images in `<dataDir>/images/<id>/`. */
  images: StoredImage[];
  /** The module tree with every version. */
  modules: StoredModule[];
  runs: StoredRun[];
  /** The orchestrator's pending work; a job leaves only once done. */
  jobs: StoredJob[];
  /** The app store: installed and published apps with their versions. */
  apps: StoredApp[];
  /** Publisher keys whose signed bundles install. */
  publishers: TrustedPublisher[];
  settings: {
    allowUnsignedBundles: boolean;
    /** scrypt hash of the administrator's PIN that leaves kiosk mode; null: kiosk mode cannot start. */
    kioskPinHash: string | null;
  };
}

export interface StoredJob {
  id: string;
  kind: string;
  runId: string;
  /** What in the run: an instance name, or '' for the whole run. */
  target: string;
  attempts: number;
  notBefore: string;
  createdAt: string;
  lastError: string | null;
}

/** A module: its access and every version ever saved (deleting only hides it). */
export interface StoredModule {
  path: string;
  owner: string;
  acl: AclRule[];
  deleted: boolean;
  versions: ModuleVersion[];
}

export interface ModuleVersion {
  version: number;
  author: string;
  time: string;
  message: string;
  content: ModuleContent;
}

/** A base image: one qcow2 disk, or a kernel and initrd for direct boot. */
export interface StoredImage {
  id: string;
  name: string;
  kind: 'disk' | 'kernel';
  /**
   * `unusable`: the start-up check found it unsafe (`error` says why). Stores of older versions
   * also hold `failed` records of failed imports; they are removed at start (ImageStore.recover).
   */
  status: 'importing' | 'ready' | 'unusable';
  error: string | null;
  sizeBytes: number;
  /**
   * A disk's virtual size as `qemu-img info` told it when the file was checked (the least a VM
   * disk made on it may have); null for a kernel image, and for a disk stored by an older version
   * until the start-up check reads it.
   */
  virtualBytes: number | null;
  /** Per file, once verified. */
  sha256: Record<string, string>;
  cmdline: string | null;
  createdAt: string;
  createdBy: string;
}

/** A connector instance: a kind plus its (validated) config. */
export interface StoredCloud {
  id: string;
  name: string;
  kind: string;
  config: unknown;
  createdAt: string;
  createdBy: string;
}

/** What a migration sees: the document of the previous version, shape unknown to the code. */
export type AnyDocument = { schemaVersion: number } & Record<string, unknown>;

/** A numbered, immutable step from version `version - 1` to `version`. */
export interface Migration {
  version: number;
  description: string;
  up(document: AnyDocument): void;
}

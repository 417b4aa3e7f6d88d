import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseLibvirtUri } from './domain/libvirt-uri.ts';
import { setupCodePattern } from './api/auth/setup-code.ts';
import { defaultArchiveAfterHours } from './orchestrator/run-archiver.ts';
import { readText } from './store/durable-json-file.ts';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:8443');

/** The config file's schema; every key is optional and has a default. */
export const configSchema = z.strictObject({
  /** Where remote administrators connect: HTTPS, unless the host is loopback. */
  listen: hostPort.default('0.0.0.0:8443'),
  /** Plain HTTP for the box's own screen, loopback only; `off` to disable. */
  localListen: z.union([hostPort, z.literal('off')]).default('127.0.0.1:8080'),
  /** `auto`: HTTPS on non-loopback addresses; `always`: HTTPS on `listen` even on loopback. */
  tls: z.enum(['auto', 'always']).default('auto'),
  /**
   * The box's name or address in service URLs (published guest ports); null: its first LAN IPv4
   * address. The UI is never served under it (cookies have no port scope), so it must not be a
   * loopback address nor one of `hostNames`.
   */
  publicHost: z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'must be a host name or an IP address')
    .nullable()
    .default(null),
  /**
   * Further names the box answers to (its DNS names); requests under any other name than these,
   * the host's own name, `localhost` and the box's addresses are refused (DNS rebinding).
   */
  hostNames: z
    .array(z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name'))
    .max(32)
    .default([]),
  /** libvirt URI of the box's own hypervisor; null picks the embedded default. */
  libvirtUri: z.string().min(1).nullable().default(null),
  sessionHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(24 * 7),
  /** Hours after its end a finished run moves from the main document to the archive (0: at once). */
  archiveAfterHours: z
    .number()
    .min(0)
    .max(24 * 3650)
    .default(defaultArchiveAfterHours),
  heartbeatSeconds: z.number().min(0.05).max(300).default(15),
  eventReplayLimit: z.number().int().min(10).max(100_000).default(1000),
  /**
   * Seconds between background health checks of remote clouds while a screen watches; four times
   * as long while none does. No remote cloud, no checks.
   */
  cloudHealthSeconds: z.coerce.number().min(1).max(3600).default(15),
  capacity: z
    .strictObject({
      /** VMs the box runs at most. */
      maxVms: z.number().int().min(0).max(1000).default(8),
      /** vCPUs offered per host core. */
      vcpuOvercommit: z.number().min(0.1).max(32).default(4),
      /** Guest memory offered per MiB of host memory left after the host's own share. */
      memoryOvercommit: z.number().min(0.1).max(4).default(1),
      /** Memory kept for the host and the appliance. */
      hostReservedMemoryMiB: z.number().int().min(0).default(1024),
      /**
       * A cap on the disk offered to VMs; null: the disk formula alone (free space of the VM
       * folder's file system plus what the box's VMs hold there, less a reserve).
       */
      diskGiB: z.number().min(0).nullable().default(null),
    })
    .prefault({}),
  /**
   * Folders besides removable media (/media, /mnt, /run/media) that imports by path may read
   * images and bundles from; never inside the data dir.
   */
  importDirs: z
    .array(z.string().startsWith('/', 'must be absolute paths').max(4096))
    .max(16)
    .default([]),
  /**
   * `auto`: each run on the box gets a private network where the box allows bridges (root,
   * nftables, dnsmasq), else user networking; `off`: always user networking.
   */
  privateNetworks: z.enum(['auto', 'off']).default('auto'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * `host`: an administrator's power off and reboot reach the host; `off`: they are refused (an
   * appliance on a desktop or in a test must not power the machine off).
   */
  powerControl: z.enum(['host', 'off']).default('host'),
});

export type FileConfig = z.infer<typeof configSchema>;

export interface Config extends FileConfig {
  dataDir: string;
  /** Creates the first admin unattended when none exists. Never stored. */
  adminPassword: string | null;
  /** The one-time code for setting up from another machine (`build/start.sh` makes one); null: the box makes one. */
  setupCode: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/bivouac';
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'bivouac');
}

/**
 * Reads the config file (`BIVOUAC_CONFIG`, else `config.json` in the data dir; a missing file
 * means defaults), then applies the environment, which wins.
 */
export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const dataDir = env.BIVOUAC_DATA_DIR || defaultDataDir(env);
  const path = env.BIVOUAC_CONFIG || join(dataDir, 'config.json');
  const text = await readText(path);
  let raw: Record<string, unknown> = {};
  if (text !== null) {
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {
    listen: env.BIVOUAC_LISTEN,
    libvirtUri: env.BIVOUAC_LIBVIRT_URI,
    privateNetworks: env.BIVOUAC_PRIVATE_NETWORKS,
    publicHost: env.BIVOUAC_PUBLIC_HOST,
    localListen: env.BIVOUAC_LOCAL_LISTEN,
    tls: env.BIVOUAC_TLS,
    logLevel: env.BIVOUAC_LOG_LEVEL,
    powerControl: env.BIVOUAC_POWER_CONTROL,
    cloudHealthSeconds: env.BIVOUAC_CLOUD_HEALTH_SECONDS,
    importDirs: env.BIVOUAC_IMPORT_DIRS
      ? env.BIVOUAC_IMPORT_DIRS.split(':').filter((dir) => dir !== '')
      : undefined,
  };
  for (const [key, value] of Object.entries(fromEnv)) if (value) raw[key] = value;
  if (env.BIVOUAC_HOST_NAMES)
    raw.hostNames = env.BIVOUAC_HOST_NAMES.split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(`Config from ${path} and BIVOUAC_* environment is invalid: ${problems}`);
  }
  // The box's own URI passes the same rule as every cloud's before anything connects with it.
  if (parsed.data.libvirtUri !== null) {
    const verdict = parseLibvirtUri(parsed.data.libvirtUri, { keysDir: keysDirOf(dataDir) });
    if (!verdict.ok) {
      const source = env.BIVOUAC_LIBVIRT_URI ? 'BIVOUAC_LIBVIRT_URI' : `libvirtUri in ${path}`;
      throw new ConfigError(`${source} is refused: it ${verdict.refusal.message}.`);
    }
  }
  const setupCode = env.BIVOUAC_SETUP_CODE || null;
  if (setupCode !== null && !setupCodePattern.test(setupCode)) {
    throw new ConfigError(
      'BIVOUAC_SETUP_CODE must look like ABCD-EFGH-JKMN: three groups of four capital letters and digits, without 0, O, 1 and I.',
    );
  }
  const config = {
    ...parsed.data,
    dataDir,
    adminPassword: env.BIVOUAC_ADMIN_PASSWORD || null,
    setupCode,
  };
  const publicHost = config.publicHost?.toLowerCase();
  if (
    publicHost &&
    (isLoopback(publicHost) || config.hostNames.some((name) => name.toLowerCase() === publicHost))
  ) {
    throw new ConfigError(
      `publicHost ${config.publicHost} is a name the UI is served under (a loopback address or one of hostNames); the apps' services need a host of their own, such as the box's LAN address.`,
    );
  }
  return config;
}

/** The folder libvirt URIs may name key and known-hosts files in (`keyfile=`, `known_hosts=`). */
export function keysDirOf(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function parseHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = value.slice(0, at).replace(/^\[|\]$/g, '');
  return { host, port: Number(value.slice(at + 1)) };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

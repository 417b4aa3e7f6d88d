import { z } from 'zod';
import { logLevels } from '../../domain/logs.ts';
import { Id } from './common.ts';

/** Schemas of the box itself: metric history, host metrics and facts, logs, power. */

/** The history's resolutions (store/history-file.ts keeps the same names). */
const resolutionNames = ['10s', '1m', '15m', '1d'] as const;
export const HistoryQuery = z.strictObject({
  metric: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
      'must be a metric name like host.cpu or vm.<id>.memory',
    ),
  resolution: z
    .enum(resolutionNames)
    .default('10s')
    .describe('10s (an hour), 1m (a day), 15m (a month), 1d (a year)'),
  from: z.coerce.number().int().nonnegative().optional().describe('ms since the epoch'),
  to: z.coerce.number().int().nonnegative().optional().describe('ms since the epoch'),
});
export const HistorySeries = z.object({
  metric: z.string(),
  resolution: z.enum(resolutionNames),
  stepSeconds: z.number(),
  points: z
    .array(
      z.object({
        t: z.number(),
        value: z.number().nullable(),
        min: z.number().nullable(),
        max: z.number().nullable(),
      }),
    )
    .describe('value null: not available in that period'),
});
export const HistoryIndex = z.object({
  metrics: z.array(z.string()),
  resolutions: z.array(z.object({ name: z.string(), stepSeconds: z.number(), slots: z.number() })),
});
const PowerAction = z.enum(['poweroff', 'reboot']);
export const PowerRequest = z.strictObject({ action: PowerAction.describe('poweroff or reboot') });
export const PowerAccepted = z.object({ action: PowerAction, by: Id, at: z.string() });
export const BoxMetrics = z.object({
  timeMs: z.number().nullable().describe('null before the first sample'),
  cpuPercent: z.number().nullable(),
  memory: z.object({ usedBytes: z.number(), totalBytes: z.number() }).nullable(),
  disk: z.object({ mount: z.string(), usedBytes: z.number(), totalBytes: z.number() }).nullable(),
  network: z
    .object({ rxBytesPerSecond: z.number().nullable(), txBytesPerSecond: z.number().nullable() })
    .nullable(),
  temperatureCelsius: z
    .number()
    .nullable()
    .describe('null: the host has no temperature sensor (never a made-up figure)'),
});

const adminsOnly = 'administrators only (absent for others)';
export const BoxFacts = z.object({
  version: z.string().describe("The appliance's version"),
  hostname: z.string(),
  os: z
    .object({ distro: z.string(), release: z.string(), kernel: z.string(), arch: z.string() })
    .describe('empty strings where the host does not tell'),
  cpu: z.object({
    model: z.string(),
    cores: z.number().describe('logical CPUs'),
    physicalCores: z.number().nullable(),
  }),
  memoryTotalBytes: z.number(),
  dataDisk: z
    .object({ sizeBytes: z.number(), usedBytes: z.number(), freeBytes: z.number() })
    .nullable()
    .describe("The file system holding the appliance's data; null when the host does not tell"),
  vmDisk: z
    .object({ total: z.number(), held: z.number(), free: z.number() })
    .describe(
      "Disk for VMs in GiB, as pre-flight and the Dashboard count it (the disk formula): total = the VM folder's file system's free space + what the box's VMs hold there - a reserve kept for the data; held by runs' reservations; free for new deploys",
    ),
  disks: z
    .array(
      z.object({
        mount: z.string(),
        filesystem: z.string(),
        type: z.string(),
        sizeBytes: z.number(),
        usedBytes: z.number(),
        freeBytes: z.number(),
        holdsDataDir: z.boolean(),
      }),
    )
    .optional()
    .describe(
      `Mounted file systems; the one holding the appliance's data is always listed; ${adminsOnly}`,
    ),
  network: z
    .array(
      z.object({
        name: z.string(),
        addresses: z.array(z.string()).describe('with prefix length'),
        mac: z.string().nullable(),
        up: z.boolean(),
        internal: z.boolean(),
        virtual: z.boolean(),
      }),
    )
    .optional()
    .describe(`Network interfaces; ${adminsOnly}`),
  uptimeSeconds: z.number().describe("The host's uptime"),
  tlsFingerprint: z
    .string()
    .nullable()
    .describe('SHA-256 of the HTTPS certificate remote administrators should see'),
  listen: z
    .array(z.string())
    .optional()
    .describe(`The URLs the appliance listens on; ${adminsOnly}`),
  accelerator: z
    .enum(['kvm', 'tcg'])
    .nullable()
    .describe(
      "How the box's VMs run: kvm (hardware) or tcg (emulated); null when not known (a dry run)",
    ),
  hypervisor: z.object({
    uri: z.string().optional().describe(`The box's libvirt URI; ${adminsOnly}`),
    dryRun: z.boolean(),
  }),
  checkedAt: z.string().describe('When the host was read (facts are reused for a few seconds)'),
});
export const LogLevel = z.enum(logLevels);
export const BoxLogQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(200).describe('how many lines at most'),
  level: LogLevel.optional().describe('the lowest level to include (default: all)'),
});
export const BoxLogs = z.object({
  lines: z
    .array(
      z.object({
        time: z.string(),
        level: LogLevel,
        message: z.string(),
        fields: z.record(z.string(), z.unknown()),
      }),
    )
    .describe('Newest first'),
  capacity: z.number().describe('How many recent lines the appliance keeps in memory'),
});

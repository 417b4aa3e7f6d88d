import { z } from 'zod';
import { appIdsPattern } from '../../domain/app-trust.ts';
import { FormField } from '../../domain/manifest.ts';
import { Id, OneLineTitle } from './common.ts';
import { ModuleRef } from './modules.ts';

/** Schemas of the app store: apps, bundles, publishers and the bundle settings. */

const AppId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,63}$/, 'must be lowercase letters, digits and "-"');
export const AppIdParams = z.strictObject({ id: AppId });
export const AppListQuery = z.strictObject({
  include: z
    .enum(['unpublished'])
    .optional()
    .describe(
      'unpublished: also the apps taken out of the store, for administrators (ignored for others)',
    ),
});
export const AppSummary = z.object({
  id: AppId,
  version: z.string(),
  title: z.string(),
  summary: z.string(),
  categories: z.array(z.string()),
  publisher: z
    .string()
    .nullable()
    .describe(
      "The name the signing key is trusted under (this box's, for an app published here); null when installed unsigned",
    ),
  signed: z.boolean(),
  iconUrl: z.string().nullable(),
  requires: z.array(z.object({ image: z.string(), hint: z.string() })),
  published: z.boolean(),
  module: z.string().describe('The exact module version it deploys'),
});
export const AppDetail = AppSummary.extend({
  description: z.string(),
  screenshotUrls: z.array(z.string()),
  form: z.array(FormField),
  clouds: z.record(z.string(), z.enum(['box', 'any'])),
  versions: z
    .array(
      z.object({
        version: z.string(),
        installedAt: z.string(),
        signed: z.boolean(),
        publisher: z.string().nullable(),
      }),
    )
    .describe('In the order they were installed; the app shows the highest version'),
});
const AllowDowngrade =
  'install a version older than the newest installed (it never becomes the newest)';
export const ImportApp = z.strictObject({
  path: z.string().startsWith('/', 'must be an absolute path on the box').max(4096),
  allowDowngrade: z.boolean().default(false).describe(AllowDowngrade),
});
export const UploadAppQuery = z.strictObject({
  allowDowngrade: z.enum(['true', 'false']).default('false').describe(AllowDowngrade),
});
export const InstalledApp = z.object({
  app: AppSummary,
  warning: z
    .string()
    .nullable()
    .describe('Set when the bundle was unsigned or its publisher untrusted'),
});
export const BundleSource = z.object({ path: z.string(), sizeBytes: z.number() });
export const Placement = z.strictObject({
  placement: z.record(z.string().max(64), Id).default({}),
  multiplicity: z.record(z.string().max(64), z.number().int().min(0).max(64)).default({}),
});
export const DeployApp = Placement.extend({
  title: OneLineTitle(200).optional(),
  parameters: z.record(z.string().max(140), z.string().max(4096)).default({}),
});
export const Preflight = z.object({
  ok: z.boolean(),
  checks: z.array(
    z.object({
      check: z.string(),
      ok: z.boolean(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  ),
  footprint: z.object({
    vms: z.number(),
    vcpu: z.number(),
    memoryMiB: z.number(),
    diskGiB: z.number(),
  }),
  nodes: z
    .array(
      z.object({
        name: z.string(),
        cloudId: z.string(),
        multiplicity: z.number(),
        resources: z.object({ vcpu: z.number(), memoryMiB: z.number(), diskGiB: z.number() }),
        cloudChoice: z.enum(['box', 'any']),
      }),
    )
    .describe('Each node as it would be placed and sized, with what one instance needs'),
});
export const PublishApp = z.strictObject({
  id: AppId,
  module: ModuleRef,
  title: OneLineTitle(100).min(1),
  summary: z.string().trim().min(1).max(200),
  description: z.string().max(20_000).default(''),
  categories: z
    .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
    .max(10)
    .default([]),
  form: z.array(FormField).max(50).default([]),
  clouds: z
    .record(z.string().max(64), z.enum(['box', 'any']))
    .default({})
    .describe(
      'Per node, where the operator may place it: only on the box, or on any cloud (the default)',
    ),
});
export const SetPublished = z.strictObject({ published: z.boolean() });
export const ExportQuery = z.strictObject({
  images: z
    .enum(['true', 'false'])
    .default('false')
    .describe('include the base images the app uses'),
});
const AppIds = z
  .array(
    z
      .string()
      .regex(
        appIdsPattern,
        'must be an app id (acme-crm), a prefix ending in * (acme-*), or * for every app',
      ),
  )
  .min(1, 'name at least one app id or prefix the key signs for')
  .max(50)
  .describe(
    'The app ids the key signs for: exact ids, prefixes ending in * (acme-*), or * for every app',
  );
export const Publisher = z.object({
  keyId: z.string(),
  publicKey: z.string(),
  name: z.string(),
  appIds: z.array(z.string()),
  addedAt: z.string(),
});
export const TrustPublisher = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .describe(
      "What the store shows as the publisher; the key's bundles must name the same in their manifest",
    ),
  publicKey: z.string().max(100).describe('base64 of the raw 32-byte ed25519 public key'),
  appIds: AppIds,
});
export const KeyIdParams = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/, 'must be a 16-hex-digit key id'),
});
export const BundleSettings = z.strictObject({
  allowUnsigned: z
    .boolean()
    .describe(
      'install bundles that are unsigned or signed by an untrusted publisher, with a warning',
    ),
});

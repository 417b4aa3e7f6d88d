import { z } from 'zod';
import { imageNamePattern, imageNameRule } from './images.ts';
import { parameterTypes } from './modules.ts';

/** A path inside the bundle. */
const BundlePath = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/,
    'must be a relative path inside the bundle',
  );
const ModulePath = z
  .string()
  .regex(/^(\/[a-z0-9][a-z0-9._-]{0,63}){1,16}$/, 'must be a module path like /apps/name');
const ImageName = z.string().regex(imageNamePattern, imageNameRule);

/** One field of the deploy form: it sets `node:input` of the deployment. */
export const FormField = z.strictObject({
  key: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}:[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must be node:input'),
  label: z.string().min(1).max(100),
  type: z.enum(parameterTypes),
  help: z.string().max(500).optional(),
  default: z.string().max(4096).optional(),
  options: z.array(z.string().max(200)).min(1).max(100).optional(),
  required: z.boolean().default(true),
  /** For passwords: generated on the form unless the operator types one. */
  generate: z.boolean().default(false),
  /** `multiplicity`: the value is how many instances the key's node gets (a number field). */
  sets: z.enum(['input', 'multiplicity']).default('input'),
  min: z.number().optional(),
  max: z.number().optional(),
});
export type FormField = z.infer<typeof FormField>;

/** A bundle's manifest.yaml. */
export const Manifest = z.strictObject({
  format: z.literal(1),
  app: z.strictObject({
    id: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'must be lowercase letters, digits and "-"'),
    version: z
      .string()
      .regex(
        /^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$/,
        'must be a version like 1.2.0 (numbers of up to 9 digits, without leading zeros)',
      ),
    title: z.string().min(1).max(100),
    summary: z.string().min(1).max(200),
    description: z.string().max(20_000).default(''),
    categories: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/))
      .max(10)
      .default([]),
    publisher: z.string().min(1).max(100),
    icon: BundlePath.optional(),
    screenshots: z.array(BundlePath).max(10).default([]),
  }),
  deploy: z.strictObject({
    /** The module (from modules.yaml) the app deploys. */
    module: ModulePath,
    form: z.array(FormField).max(50).default([]),
    /** Per node: where it may run: only on the box, or on any cloud. */
    clouds: z.record(z.string(), z.enum(['box', 'any'])).default({}),
    /** Base images the app needs that the bundle does not carry (by name), with a hint. */
    requires: z
      .array(z.strictObject({ image: z.string().min(1).max(64), hint: z.string().max(300) }))
      .max(10)
      .default([]),
  }),
  modules: BundlePath.default('modules.yaml'),
  images: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({ name: ImageName, kind: z.literal('disk'), disk: BundlePath }),
        z.strictObject({
          name: ImageName,
          kind: z.literal('kernel'),
          kernel: BundlePath,
          initrd: BundlePath,
          cmdline: z.string().max(1024).default('console=ttyS0'),
        }),
      ]),
    )
    .max(10)
    .default([]),
});
export type Manifest = z.infer<typeof Manifest>;

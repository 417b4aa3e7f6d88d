import { z } from 'zod';
import { actions, roles } from '../../domain/access.ts';
import { parameterTypes, recipeNames } from '../../domain/modules.ts';
import { Id } from './common.ts';

/** Schemas of modules (projects, images, deployments), their versions and ACLs. */

export const ModulePath = z
  .string()
  .regex(
    /^(\/[a-z0-9][a-z0-9._-]{0,63}){1,16}$/,
    'must be a module path like /project/name (lowercase letters, digits, ".", "_", "-")',
  );
export const ModuleRef = z
  .string()
  .regex(
    /^(\/[a-z0-9][a-z0-9._-]{0,63}){1,16}(@[1-9][0-9]{0,8})?$/,
    'must be a module reference: /project/name or /project/name@version',
  );
const ParamName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
    'must be letters, digits, "_", "." or "-", starting with a letter',
  );
const Description = z.string().max(4000).optional();
const Recipe = z.string().max(64 * 1024, 'a recipe may be at most 64 KiB');
const InputParameter = z.strictObject({
  name: ParamName,
  type: z.enum(parameterTypes),
  description: Description,
  default: z.string().max(4096).optional(),
  options: z.array(z.string().max(256)).min(1).max(100).optional(),
  secret: z.boolean().optional(),
});
const ImageContent = z.strictObject({
  kind: z.literal('image'),
  description: Description,
  parent: ModuleRef.nullable().default(null),
  nativeImages: z
    .record(z.string().regex(/^[a-z][a-z0-9-]{1,31}$/), z.strictObject({ imageId: Id }))
    .default({}),
  resources: z
    .strictObject({
      vcpu: z.number().int().min(1).max(64).optional(),
      memoryMiB: z
        .number()
        .int()
        .min(96)
        .max(1024 * 1024)
        .optional(),
      diskGiB: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024)
        .optional(),
    })
    .optional(),
  packages: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9+._-]{0,127}$/, 'must be a package name'))
    .max(500)
    .optional(),
  recipes: z.partialRecord(z.enum(recipeNames), Recipe).default({}),
  inputs: z.array(InputParameter).max(200).default([]),
  outputs: z
    .array(
      z.strictObject({ name: ParamName, description: Description, secret: z.boolean().optional() }),
    )
    .max(200)
    .default([]),
  ports: z
    .array(
      z.strictObject({
        name: ParamName,
        port: z.number().int().min(1).max(65535),
        protocol: z.enum(['http', 'https', 'tcp']),
      }),
    )
    .max(50)
    .default([]),
});
const DeploymentContent = z.strictObject({
  kind: z.literal('deployment'),
  description: Description,
  nodes: z
    .array(
      z.strictObject({
        name: z.string().max(64),
        image: ModuleRef,
        multiplicity: z.number().int().default(1),
        cloud: Id.nullable().default(null),
        maxFailures: z.number().int().default(0),
        mappings: z
          .record(
            ParamName,
            z.union([
              z.strictObject({ output: z.string().max(130) }),
              z.strictObject({ value: z.string().max(4096) }),
            ]),
          )
          .default({}),
      }),
    )
    .max(64),
});
const ProjectContent = z.strictObject({ kind: z.literal('project'), description: Description });
export const ModuleContent = z.discriminatedUnion('kind', [
  ProjectContent,
  ImageContent,
  DeploymentContent,
]);
export const AclRule = z.union([
  z.strictObject({ user: Id, allow: z.array(z.enum(actions)) }),
  z.strictObject({ role: z.enum(roles), allow: z.array(z.enum(actions)) }),
  z.strictObject({ everyone: z.literal(true), allow: z.array(z.enum(actions)) }),
]);
export const ModuleView = z.object({
  path: z.string(),
  kind: z.enum(['project', 'image', 'deployment']),
  owner: Id,
  acl: z.array(AclRule),
  version: z.number(),
  latestVersion: z.number(),
  author: Id,
  time: z.string(),
  message: z.string(),
  content: z.unknown().describe('The module document: project, image or deployment'),
});
export const ModuleSummary = z.object({
  path: z.string(),
  kind: z.enum(['project', 'image', 'deployment']),
  owner: Id,
  latestVersion: z.number(),
  updatedAt: z.string(),
  description: z.string().nullable(),
});
export const ModuleVersionInfo = z.object({
  version: z.number(),
  author: Id,
  time: z.string(),
  message: z.string(),
});
export const ModuleListQuery = z.strictObject({ under: ModulePath.optional() });
export const ModulePathQuery = z.strictObject({ path: ModulePath });
export const ModuleRefQuery = z.strictObject({ ref: ModuleRef });
export const ModuleDiffQuery = z.strictObject({
  path: ModulePath,
  from: z.coerce.number().int().min(1),
  to: z.coerce.number().int().min(1),
});
export const SaveModule = z.strictObject({
  content: ModuleContent,
  message: z.string().trim().min(1, 'say what changed').max(500),
});
export const AclChange = z.strictObject({
  acl: z.array(AclRule).max(100),
  expected: z
    .array(AclRule)
    .max(100)
    .optional()
    .describe(
      'the rules this change was made from: refused with ACL_CHANGED when they are no longer the current ones',
    ),
});
export const ModuleDiff = z.object({
  diff: z.string().describe('Unified diff of the two versions as YAML'),
});
export const ModuleExport = z.object({
  yaml: z.string().describe('One YAML document per module: { path, content }'),
});
export const ModuleImport = z.strictObject({
  yaml: z.string().max(4 * 1024 * 1024),
  message: z.string().trim().min(1).max(500),
});

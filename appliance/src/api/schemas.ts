import { z } from 'zod';
import { roles } from '../domain/access.ts';
import { passwordMinLength, usernamePattern } from '../domain/users.ts';

/**
 * The API's schemas: they validate requests, shape responses, produce the OpenAPI document and
 * type the renderer's client. Pure zod, no Node imports: the renderer bundles this file.
 */

export const Role = z.enum(roles).describe('admin: everything; operator: deploy and manage own and shared runs; viewer: read only');

export const Username = z
  .string()
  .regex(usernamePattern, 'must be 2-32 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"');

export const Password = z
  .string()
  .min(passwordMinLength, `must be at least ${passwordMinLength} characters`)
  .max(256, 'must be at most 256 characters');

export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id of letters, digits, "_" or "-"');
export const IdParams = z.strictObject({ id: Id });

export const User = z.object({
  id: Id,
  username: z.string(),
  role: Role,
  disabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const SessionInfo = z.object({
  user: User,
  csrfToken: z.string().describe('Send as the x-csrf-token header with every cookie-authenticated change.'),
  expiresAt: z.string(),
});

export const SetupStatus = z.object({
  needsAdmin: z.boolean().describe('True until the first administrator is created.'),
  tlsFingerprint: z.string().nullable().describe('SHA-256 of the HTTPS certificate remote administrators should see.'),
  version: z.string(),
  dryRun: z.boolean().describe("True when the box's hypervisor is libvirt's test driver: no real VMs run."),
});

export const Credentials = z.strictObject({ username: Username, password: z.string().min(1).max(256) });
export const CreateAdmin = z.strictObject({ username: Username, password: Password });
export const CreateUser = z.strictObject({ username: Username, password: Password, role: Role });
export const UpdateUser = z
  .strictObject({
    role: Role.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
    currentPassword: z.string().max(256).optional().describe('Required when changing your own password.'),
  })
  .refine((value) => Object.values(value).some((field) => field !== undefined), 'give at least one field to change');

export const ApiToken = z.object({
  id: Id,
  name: z.string(),
  createdAt: z.string(),
});
export const CreateToken = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
});
export const CreatedToken = ApiToken.extend({
  token: z.string().describe('The bearer token. Shown only in this answer; store it now.'),
});

export const Health = z.object({ status: z.literal('ok'), version: z.string() });
export const Empty = z.null();

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});

const count = z.number().int('must be a whole number').min(0, 'must not be negative');
export const Quota = z
  .strictObject({ vms: count.optional(), vcpu: count.optional(), memoryMiB: count.optional(), diskGiB: count.optional() })
  .describe('Per-user limits; a missing resource is limited only by the box.');

const ResourceUsage = z.object({
  total: z.number().nullable().describe('null: no limit of its own (only the box limits it)'),
  used: z.number().describe('held by running VMs'),
  reserved: z.number().describe('held for VMs not launched yet'),
  free: z.number().nullable(),
});
export const Usage = z.object({ vms: ResourceUsage, vcpu: ResourceUsage, memoryMiB: ResourceUsage, diskGiB: ResourceUsage });
export const CapacityReport = z.object({
  box: Usage,
  users: z.array(z.object({ userId: Id, quota: Quota, usage: Usage })).describe('Everyone for an admin; yourself otherwise.'),
});

export const CloudStatus = z.object({
  reachable: z.boolean(),
  latencyMs: z.number().nullable(),
  lastError: z.string().nullable(),
  checkedAt: z.string().nullable(),
});
export const Cloud = z.object({
  id: Id,
  name: z.string(),
  kind: z.string(),
  config: z.unknown().describe("The kind's config, as validated by its manifest's schema"),
  builtIn: z.boolean().describe("True for the box's own hypervisor, which cannot be removed"),
  status: CloudStatus,
});
export const AddCloud = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  kind: z.string().min(1).describe('A registered connector kind, e.g. libvirt'),
  config: z.unknown().describe("Validated by the kind's config schema; for libvirt: { uri, accelerator?, callTimeoutSeconds? }"),
});

const VmState = z.enum(['running', 'starting', 'paused', 'shutting-down', 'stopped', 'crashed', 'suspended', 'unknown', 'launching', 'gone']);
export const Vm = z.object({
  id: Id,
  cloudId: Id,
  nativeId: z.string(),
  runId: z.string(),
  instance: z.string(),
  owner: Id,
  reservationId: Id.nullable(),
  imageId: Id.nullable(),
  state: VmState,
  ips: z.array(z.string()),
  vcpu: z.number(),
  memoryMiB: z.number(),
  diskGiB: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  goneReason: z.string().nullable().describe('terminated, vanished (deleted outside Bivouac), launch failed or interrupted'),
});
const StrayVm = z.object({ cloudId: Id, nativeId: z.string(), name: z.string(), state: z.string(), runId: z.string().nullable() });
export const VmQuery = z.strictObject({
  include: z.enum(['live', 'all']).default('live').describe('live: VMs not gone; all: also gone ones'),
});
export const VmList = z.object({
  vms: z.array(Vm).describe('The VMs you may view'),
  unknown: z.array(StrayVm).describe('Administrators only: Bivouac VMs the store does not know (reported, never deleted)'),
  foreign: z.array(StrayVm).describe('Administrators only: VMs on the clouds that Bivouac did not make'),
  tracking: z.record(z.string(), z.enum(['push', 'polling'])).describe('How each cloud reports VM state changes right now'),
});

const Sha256 = z.string().regex(/^[A-Fa-f0-9]{64}$/, 'must be 64 hexadecimal digits');
const ImageName = z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters');
const HostPath = z.string().startsWith('/', 'must be an absolute path on the box').max(4096);
export const Image = z.object({
  id: Id,
  name: z.string(),
  kind: z.enum(['disk', 'kernel']).describe('disk: one qcow2 file; kernel: a kernel and initrd for direct boot'),
  status: z.enum(['importing', 'ready', 'failed']),
  error: z.string().nullable(),
  sizeBytes: z.number(),
  sha256: z.record(z.string(), z.string()).describe('Per file (disk, kernel, initrd), once verified'),
  cmdline: z.string().nullable(),
  createdAt: z.string(),
  createdBy: Id,
});
export const ImportImage = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('disk'), name: ImageName, path: HostPath, sha256: Sha256.optional() }),
  z.strictObject({
    kind: z.literal('kernel'),
    name: ImageName,
    kernel: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    initrd: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    cmdline: z.string().max(1024).regex(/^[\x20-\x7e]*$/, 'must be printable ASCII').default('console=ttyS0'),
  }),
]);
export const UploadImageQuery = z.strictObject({ name: ImageName, sha256: Sha256.optional() });

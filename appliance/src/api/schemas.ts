import { z } from 'zod';
import { FormField } from '../domain/manifest.ts';
import { logLevels } from '../domain/logs.ts';
import { actions, roles } from '../domain/access.ts';
import { imageNamePattern, imageNameRule } from '../domain/images.ts';
import { limits } from '../domain/limits.ts';
import { appIdsPattern } from '../domain/app-trust.ts';
import { parameterTypes, recipeNames } from '../domain/modules.ts';
import { keepRunningPolicies, runStates } from '../domain/run-states.ts';
import { passwordMinLength, usernamePattern } from '../domain/users.ts';

/**
 * The API's schemas: they validate requests, shape responses, produce the OpenAPI document and
 * type the renderer's client. Pure zod, no Node imports: the renderer bundles this file.
 */

export const Role = z
  .enum(roles)
  .describe(
    'admin: everything; operator: deploy and manage own and shared runs; viewer: read only',
  );

export const Username = z
  .string()
  .regex(
    usernamePattern,
    'must be 2-32 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"',
  );

export const Password = z
  .string()
  .min(passwordMinLength, `must be at least ${passwordMinLength} characters`)
  .max(256, 'must be at most 256 characters');

export const Id = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id of letters, digits, "_" or "-"');
export const IdParams = z.strictObject({ id: Id });

export const User = z.object({
  id: Id,
  username: z.string(),
  role: Role,
  disabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const UserName = z.object({ id: Id, username: z.string() });

export const SessionInfo = z.object({
  user: User,
  csrfToken: z
    .string()
    .describe('Send as the x-csrf-token header with every cookie-authenticated change.'),
  expiresAt: z.string(),
});

export const SetupStatus = z.object({
  needsAdmin: z.boolean().describe('True until the first administrator is created.'),
  tlsFingerprint: z
    .string()
    .nullable()
    .describe('SHA-256 of the HTTPS certificate remote administrators should see.'),
  version: z.string(),
  dryRun: z
    .boolean()
    .describe("True when the box's hypervisor is libvirt's test driver: no real VMs run."),
  setupCodeRequired: z
    .boolean()
    .describe(
      "True where creating the first administrator needs the setup code: everywhere but the box's own screen.",
    ),
  setupCode: z
    .string()
    .nullable()
    .describe(
      "The one-time setup code, shown only on the box's own screen (the local listener) while no administrator exists, to set up from another machine.",
    ),
});

/** The id the box's own screen keeps across restarts (the shell makes it once, at random). */
export const ScreenId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16 to 64 letters, digits, _ or -');
export const Credentials = z.strictObject({
  username: Username,
  password: z.string().min(1).max(256),
  screenId: ScreenId.optional().describe(
    "Given by the box's own screen to open a kiosk session (one that can be locked to the app store); accepted only on the local listener.",
  ),
});
export const CreateAdmin = z.strictObject({
  username: Username,
  password: Password,
  setupCode: z
    .string()
    .max(32)
    .optional()
    .describe(
      "The one-time code the box prints in its log and shows on its own screen; needed everywhere but on the box's own screen.",
    ),
});
export const CreateUser = z.strictObject({ username: Username, password: Password, role: Role });
export const UpdateUser = z
  .strictObject({
    role: Role.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
    currentPassword: z
      .string()
      .max(256)
      .optional()
      .describe('Required when changing your own password.'),
  })
  .refine(
    (value) => Object.values(value).some((field) => field !== undefined),
    'give at least one field to change',
  );

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

export const Health = z.object({
  /** `starting` (with 503) until the start-up has ended and a deploy can be served. */
  status: z.enum(['ok', 'starting']),
  version: z.string(),
  /** Parts of the start-up still under way, e.g. `built-in images`. */
  starting: z.array(z.string()),
  /** Parts that ended in failure (the box serves what it can without them). */
  failed: z.array(z.object({ part: z.string(), reason: z.string() })),
});
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
  .strictObject({
    vms: count.optional(),
    vcpu: count.optional(),
    memoryMiB: count.optional(),
    diskGiB: count.optional(),
    runs: count
      .optional()
      .describe(
        `live runs at once, each counting one even when it reserves nothing; missing: ${limits.liveRunsPerUser}`,
      ),
  })
  .describe('Per-user limits; a missing resource is limited only by the box.');

const ResourceUsage = z.object({
  total: z.number().nullable().describe('null: no limit of its own (only the box limits it)'),
  used: z.number().describe('held by running VMs'),
  reserved: z.number().describe('held for VMs not launched yet'),
  free: z.number().nullable(),
});
export const Usage = z.object({
  vms: ResourceUsage,
  vcpu: ResourceUsage,
  memoryMiB: ResourceUsage,
  diskGiB: ResourceUsage,
});
export const CapacityReport = z.object({
  box: Usage,
  users: z
    .array(z.object({ userId: Id, quota: Quota, usage: Usage }))
    .describe('Everyone for an admin; yourself otherwise.'),
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
  config: z
    .unknown()
    .describe(
      "The kind's config, as validated by its manifest's schema (its URI names hosts and users); null for anyone but an administrator",
    ),
  target: z
    .object({
      transport: z.string().describe('libvirt: local, unix, ssh, tcp or tls'),
      user: z.string().nullable().describe("null: the transport's default"),
      host: z.string().nullable().describe('null: the box itself'),
      port: z.number().nullable(),
      summary: z
        .string()
        .describe('The same in words, e.g. "connects over ssh as root to 10.0.0.2, port 22"'),
    })
    .nullable()
    .describe(
      'Who and where the cloud connects as; null for anyone but an administrator, and for a disabled cloud',
    ),
  builtIn: z.boolean().describe("True for the box's own hypervisor, which cannot be removed"),
  disabled: z
    .object({
      reason: z
        .string()
        .describe('Why (administrators only; others are told an administrator sees why)'),
    })
    .nullable()
    .describe(
      'Set when its config no longer passes the rules (checked at every start): the box never contacts it; remove it and add it again',
    ),
  status: CloudStatus,
});
export const CloudRules = z.object({
  keysDir: z
    .string()
    .describe(
      "The folder libvirt URIs' keyfile= and known_hosts= must name files in (the data dir's keys/)",
    ),
});
export const AddCloud = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  kind: z.string().min(1).describe('A registered connector kind, e.g. libvirt'),
  config: z
    .unknown()
    .describe(
      "Validated by the kind's config schema; for libvirt: { uri, accelerator?, callTimeoutSeconds? }",
    ),
});

const VmState = z.enum([
  'running',
  'starting',
  'paused',
  'shutting-down',
  'stopped',
  'crashed',
  'suspended',
  'unknown',
  'launching',
  'gone',
]);
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
  goneReason: z
    .string()
    .nullable()
    .describe('terminated, vanished (deleted outside Bivouac), launch failed or interrupted'),
});
const StrayVm = z.object({
  cloudId: Id,
  nativeId: z.string(),
  name: z.string(),
  state: z.string(),
  runId: z.string().nullable(),
});
export const VmQuery = z.strictObject({
  include: z
    .enum(['live', 'all'])
    .default('live')
    .describe('live: VMs not gone; all: also gone ones'),
  runId: Id.optional().describe("Only this run's VMs (a run page lists its own)"),
});
export const VmList = z.object({
  vms: z.array(Vm).describe('The VMs you may view'),
  unknown: z
    .array(StrayVm)
    .describe('Administrators only: Bivouac VMs the store does not know (reported, never deleted)'),
  foreign: z
    .array(StrayVm)
    .describe('Administrators only: VMs on the clouds that Bivouac did not make'),
  tracking: z
    .record(z.string(), z.enum(['push', 'polling']))
    .describe('How each cloud reports VM state changes right now'),
});

const Sha256 = z.string().regex(/^[A-Fa-f0-9]{64}$/, 'must be 64 hexadecimal digits');
const ImageName = z.string().trim().regex(imageNamePattern, imageNameRule);
const HostPath = z.string().startsWith('/', 'must be an absolute path on the box').max(4096);
export const Image = z.object({
  id: Id,
  name: z.string(),
  kind: z
    .enum(['disk', 'kernel'])
    .describe('disk: one qcow2 file; kernel: a kernel and initrd for direct boot'),
  status: z
    .enum(['importing', 'ready', 'unusable'])
    .describe(
      'importing: administrators only, until it is ready; unusable: it failed the image check at start (error says why)',
    ),
  error: z.string().nullable(),
  sizeBytes: z.number(),
  virtualBytes: z
    .number()
    .nullable()
    .describe(
      "A disk's virtual size, the least a VM disk made on it may have (resources.diskGiB); null for a kernel image",
    ),
  sha256: z
    .record(z.string(), z.string())
    .describe('Per file (disk, kernel, initrd), once verified'),
  cmdline: z.string().nullable(),
  createdAt: z.string(),
  createdBy: Id,
});
export const ImportImage = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('disk'),
    name: ImageName,
    path: HostPath,
    sha256: Sha256.optional(),
  }),
  z.strictObject({
    kind: z.literal('kernel'),
    name: ImageName,
    kernel: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    initrd: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    cmdline: z
      .string()
      .max(1024)
      .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
      .default('console=ttyS0'),
  }),
]);
export const UploadImageQuery = z.strictObject({ name: ImageName, sha256: Sha256.optional() });

const ModulePath = z
  .string()
  .regex(
    /^(\/[a-z0-9][a-z0-9._-]{0,63}){1,16}$/,
    'must be a module path like /project/name (lowercase letters, digits, ".", "_", "-")',
  );
const ModuleRef = z
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
const AclRule = z.union([
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

const RunState = z.enum(runStates);
/** A run's (or an app's) title: one line, since it becomes the VMs' domain titles, which libvirt keeps to one line. */
const OneLineTitle = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must be one line without control characters (no newline or tab)');
const ParamKey = z.string().max(140);
export const CreateRun = z.strictObject({
  module: ModuleRef.describe('/project/name (latest) or /project/name@version'),
  title: OneLineTitle(200).optional(),
  parameters: z
    .record(z.string().max(140), z.string().max(4096))
    .default({})
    .describe('node:input → value (for an image, input → value)'),
  placement: z
    .record(z.string().max(64), Id)
    .default({})
    .describe("node → cloud id; default the deployment's choice, else the box"),
  multiplicity: z.record(z.string().max(64), z.number().int().min(0).max(64)).default({}),
  tags: z.array(z.string().trim().min(1).max(64)).max(20).default([]),
  keepRunning: z
    .enum(keepRunningPolicies)
    .default('always')
    .describe('what happens to the VMs after Ready (success) or an abort (error)'),
  timeouts: z
    .strictObject({
      Initializing: z.number().int().min(1).max(86400).optional(),
      Provisioning: z.number().int().min(1).max(86400).optional(),
      Executing: z.number().int().min(1).max(86400).optional(),
      SendingReports: z.number().int().min(1).max(86400).optional(),
      Finalizing: z.number().int().min(1).max(86400).optional(),
    })
    .optional()
    .describe('seconds per state before the run is aborted'),
});
const RunInstance = z.object({
  name: z.string(),
  node: z.string(),
  index: z.number(),
  state: z.enum(['pending', 'launching', 'running', 'removing', 'failed', 'removed']),
  vmId: Id.nullable(),
  completed: z.array(RunState),
  error: z.string().nullable(),
});
const AbortReason = z.object({
  source: z.string(),
  message: z.string(),
  by: z.string(),
  at: z.string(),
});
export const RunSummary = z.object({
  id: Id,
  owner: Id,
  title: z.string(),
  module: z.object({
    asked: z.string(),
    resolved: z.string(),
    kind: z.enum(['image', 'deployment']),
  }),
  state: RunState,
  stateEnteredAt: z.string(),
  abort: AbortReason.nullable(),
  terminating: z.boolean(),
  tags: z.array(z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  archived: z
    .boolean()
    .describe(
      'moved out of the main document: read and deleted, not changed (runs move there archiveAfterHours after they end)',
    ),
});
export const PurgeArchive = z.strictObject({
  before: z.iso.datetime({ offset: true }).describe('archived runs that ended before this go'),
});
export const PurgedArchive = z.object({ removed: z.number().int() });
export const UpgradeRun = z.strictObject({
  module: ModuleRef.describe('the newer version: /project/name@N, or /project/name for the latest'),
});
export const RunView = RunSummary.extend({
  upgrade: z
    .object({
      to: Id,
      state: z.enum(['deploying', 'switched', 'rolled-back']),
      reason: z.string().nullable(),
    })
    .nullable(),
  upgradeOf: Id.nullable(),
  screenId: ScreenId.optional().describe(
    "The box's screen (a kiosk session) this run was started from",
  ),
  acl: z.array(AclRule),
  keepRunning: z.enum(keepRunningPolicies),
  nodes: z.array(
    z.object({
      name: z.string(),
      image: z.array(z.string()),
      cloudId: z.string(),
      multiplicity: z.number(),
      maxFailures: z.number(),
      resources: z.object({ vcpu: z.number(), memoryMiB: z.number(), diskGiB: z.number() }),
    }),
  ),
  instances: z.array(RunInstance),
  params: z
    .record(z.string(), z.string())
    .describe('Runtime parameters; secrets shown as ********'),
  timeouts: z.object({
    Initializing: z.number(),
    Provisioning: z.number(),
    Executing: z.number(),
    SendingReports: z.number(),
    Finalizing: z.number(),
  }),
  network: z
    .object({ mode: z.enum(['private', 'user']) })
    .optional()
    .describe(
      "private: the run's own network on the box (instances have addresses and find each other by node name; they reach only the agent API); user: QEMU's user networking, where bridges are not allowed; absent on runs made before networks were per run (user)",
    ),
});
export const RunListQuery = z.strictObject({
  state: RunState.optional(),
  owner: Id.optional(),
  module: ModulePath.optional(),
  tag: z.string().max(64).optional(),
  q: z.string().max(200).optional().describe('text in the title or module, or a run id'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
export const RunList = z.object({ runs: z.array(RunSummary), total: z.number() });
export const RunCounts = z.object({
  byState: z
    .object(
      Object.fromEntries(runStates.map((state) => [state, z.number()])) as Record<
        (typeof runStates)[number],
        z.ZodNumber
      >,
    )
    .describe('How many runs you may view are in each state'),
  total: z.number(),
  scope: z
    .enum(['all', 'viewable'])
    .describe(
      'all: every run on the box (administrators); viewable: only yours and those shared with you',
    ),
});
export const AbortRun = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
export const RunLog = z.array(
  z.object({ time: z.string(), actor: z.string(), action: z.string(), detail: z.string() }),
);
export const RunTimings = z.object({
  spans: z
    .array(
      z.object({
        kind: z
          .enum(['create', 'launch', 'publish', 'agent', 'state'])
          .describe(
            'the deploy request, a VM launch, publishing its ports, an agent call, or a state entered (an instant)',
          ),
        detail: z
          .string()
          .describe('the module, instance, agent call (`web.1 GET /params/db.1:ready`) or state'),
        startMs: z
          .number()
          .describe(
            "the appliance's monotonic clock (performance.now(): ms since its process started)",
          ),
        endMs: z.number(),
        idle: z
          .array(z.tuple([z.number(), z.number()]))
          .describe(
            'parts of an agent read parked on a value no one had set yet (until the set began), or until its wait ran out',
          ),
      }),
    )
    .describe(
      'in the order they ended; kept in memory for the most recent runs only, none after a restart',
    ),
});
export const Params = z.record(z.string(), z.string());
export const ConsoleParams = z.strictObject({
  id: Id,
  instance: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,31}\.[1-9][0-9]{0,2}$/, 'must be an instance like web.1'),
});
export const ConsoleQuery = z.strictObject({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe("return what was written after this byte offset (the last answer's sizeBytes)"),
  wait: z.coerce
    .number()
    .min(0)
    .max(limits.consoleWaitSeconds)
    .default(0)
    .describe('with after: wait up to this many seconds for new output'),
  tail: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024 * 1024)
    .default(64 * 1024)
    .describe('without after: the last bytes to return'),
});
export const ConsoleText = z.object({
  instance: z.string(),
  text: z.string(),
  fromBytes: z.number(),
  sizeBytes: z.number(),
});
export const ParamKeyParams = z.strictObject({ key: ParamKey });
export const ParamWaitQuery = z.strictObject({
  wait: z.coerce
    .number()
    .min(0)
    .max(limits.agentWaitSeconds)
    .default(0)
    .describe('seconds to wait server-side for the value to be set'),
  unless: z
    .string()
    .max(4096)
    .optional()
    .describe('wait until the value differs from this one (to follow changes, e.g. run:scale)'),
});
export const ParamValue = z.object({ key: z.string(), value: z.string() });
export const SetParam = z.strictObject({
  value: z.string().max(4096, 'must be at most 4096 bytes'),
});
export const CompleteState = z.strictObject({
  state: z.enum(['Executing', 'SendingReports', 'Ready']),
});
export const AgentLog = z.strictObject({ text: z.string().max(64 * 1024) });
export const RecipeParams = z.strictObject({ name: z.enum(recipeNames) });
export const AgentRecipe = z.object({ name: z.string(), script: z.string() });
export const AgentContext = z.object({
  runId: Id,
  instance: z.string(),
  node: z.string(),
  recipes: z
    .array(z.object({ name: z.string(), script: z.string() }))
    .describe('In the order to run them'),
  packages: z.array(z.string()),
  packageLine: z.string().describe('The packages, space-separated (easy to read from sh)'),
  ports: z.array(z.object({ name: z.string(), port: z.number(), protocol: z.string() })),
});
export const ScaleRun = z.strictObject({
  node: z.string().max(64),
  multiplicity: z.number().int().min(0).max(64),
});

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

export const KioskStatus = z.object({
  pinSet: z.boolean().describe('An administrator has set the PIN that leaves kiosk mode'),
  locked: z.boolean().describe('This session is locked to the app store'),
  isScreen: z
    .boolean()
    .describe(
      "This session is the box's own screen (a kiosk session), the only kind that can lock",
    ),
});
export const KioskPin = z.strictObject({
  pin: z.string().regex(/^[0-9]{4,12}$/, 'must be 4 to 12 digits'),
});

/** The history's resolutions (store/history.ts keeps the same names). */
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

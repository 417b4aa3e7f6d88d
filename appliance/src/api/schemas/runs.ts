import { z } from 'zod';
import { limits } from '../../domain/limits.ts';
import { keepRunningPolicies, runStates } from '../../domain/run-states.ts';
import { ScreenId } from './accounts.ts';
import { Id, OneLineTitle } from './common.ts';
import { AclRule, ModulePath, ModuleRef } from './modules.ts';

/** Schemas of runs: deploying, listing, changing and reading them, and their consoles. */

const RunState = z.enum(runStates);
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
export const ScaleRun = z.strictObject({
  node: z.string().max(64),
  multiplicity: z.number().int().min(0).max(64),
});

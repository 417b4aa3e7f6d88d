import { z } from 'zod';
import { limits } from '../../domain/limits.ts';
import { recipeNames } from '../../domain/modules.ts';
import { Id } from './common.ts';

/** Schemas of the agent API, which the guests of a run call with their instance token. */

const ParamKey = z.string().max(140);
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

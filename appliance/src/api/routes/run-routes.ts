import { limits } from '../../domain/limits.ts';
import { recipeNames } from '../../domain/modules.ts';
import { redactSecrets, visibleParams } from '../../domain/run-params.ts';
import { BivouacError } from '../../errors.ts';
import { readConsole } from '../../host/console-log.ts';
import type { RunTimings } from '../../orchestrator/run-timings.ts';
import type { RunArchiver } from '../../orchestrator/run-archiver.ts';
import type { Runs } from '../../orchestrator/runs.ts';
import { ConcurrencyCap } from '../concurrency-cap.ts';
import { screenOf } from '../auth/kiosk.ts';
import {
  apiPrefix,
  asAgent,
  signedIn,
  type AgentPrincipal,
  type HandlerContext,
  type Handlers,
} from '../register-routes.ts';

type RunHandlers =
  | 'createRun'
  | 'listRuns'
  | 'runCounts'
  | 'getRun'
  | 'deleteRun'
  | 'archiveRun'
  | 'purgeArchive'
  | 'terminateRun'
  | 'setRunAcl'
  | 'abortRun'
  | 'scaleRun'
  | 'upgradeRun'
  | 'instanceConsole'
  | 'runParams'
  | 'runLog'
  | 'runTimings';
type AgentHandlers =
  | 'agentContext'
  | 'agentRecipe'
  | 'agentGetParam'
  | 'agentSetParam'
  | 'agentComplete'
  | 'agentAbort'
  | 'agentLog';

/** A run as people see it: parameters and the abort's message masked; in the main document unless it says otherwise. */
export function shownRun<
  T extends Parameters<typeof redactSecrets>[0] & { abort: { message: string } | null },
>(run: T) {
  return {
    archived: false,
    ...run,
    params: visibleParams(run),
    abort: run.abort && { ...run.abort, message: redactSecrets(run, run.abort.message) },
  };
}

/** Runs as people see them; parameters are always shown masked. */
export function runHandlers(runs: Runs, archiver: RunArchiver): Pick<Handlers, RunHandlers> {
  const consoleWaits = new ConcurrencyCap(
    limits.consoleWaitsPerUser,
    'TOO_MANY_WAITS',
    'console waits per user',
  );
  return {
    createRun: async ({ body }, context) =>
      shownRun(
        timedDeploy(
          runs.timings,
          context,
          await runs.create(signedIn(context).subject, body, null, [], screenOf(context.principal)),
        ),
      ),
    listRuns: async ({ query }, context) =>
      runs.queries.list(signedIn(context).subject, {
        state: query.state,
        owner: query.owner,
        module: query.module,
        tag: query.tag,
        text: query.q,
        limit: query.limit,
        offset: query.offset,
      }),
    runCounts: async (_input, context) => {
      const subject = signedIn(context).subject;
      const byState = runs.queries.counts(subject);
      return {
        byState,
        total: Object.values(byState).reduce((sum, count) => sum + count, 0),
        scope: subject.role === 'admin' ? 'all' : 'viewable',
      };
    },
    getRun: async ({ params }, context) =>
      shownRun(await runs.queries.view(signedIn(context).subject, params.id)),
    deleteRun: async ({ params }, context) => {
      await archiver.delete(signedIn(context).subject, params.id);
      return null;
    },
    archiveRun: async ({ params }, context) => {
      await archiver.archiveOne(signedIn(context).subject, params.id);
      return null;
    },
    purgeArchive: async ({ body }, context) => ({
      removed: await archiver.purge(signedIn(context).subject, new Date(body.before)),
    }),
    terminateRun: async ({ params }, context) =>
      shownRun(await runs.terminate(signedIn(context).subject, params.id)),
    setRunAcl: async ({ params, body }, context) =>
      shownRun(await runs.setAcl(signedIn(context).subject, params.id, body.acl, body.expected)),
    abortRun: async ({ params, body }, context) =>
      shownRun(await runs.abort(signedIn(context).subject, params.id, body.reason)),
    scaleRun: async ({ params, body }, context) =>
      shownRun(
        await runs.scale(signedIn(context).subject, params.id, body.node, body.multiplicity),
      ),
    upgradeRun: async ({ params, body }, context) =>
      shownRun(await runs.upgrade(signedIn(context).subject, params.id, body.module)),
    instanceConsole: async ({ params, query }, context) => {
      const { subject } = signedIn(context);
      const path = runs.consoleLog(subject, params.id, params.instance);
      const readNow = async () =>
        path
          ? readConsole(path, { after: query.after, waitMs: query.wait * 1000, tail: query.tail })
          : null;
      const waits = path !== null && query.after !== undefined && query.wait > 0;
      const read = waits ? await consoleWaits.with(subject.userId, readNow) : await readNow();
      if (!read)
        throw new BivouacError(
          'NO_CONSOLE',
          `No console log is kept here for ${params.instance} (not launched yet, or on a remote cloud).`,
          { instance: params.instance },
        );
      // A recipe may echo a secret to the console: the run's current secret values are masked.
      return {
        instance: params.instance,
        ...read,
        text: redactSecrets(runs.get(subject, params.id), read.text),
      };
    },
    runParams: async ({ params }, context) =>
      runs.queries.params(signedIn(context).subject, params.id),
    runLog: async ({ params }, context) => runs.queries.log(signedIn(context).subject, params.id),
    runTimings: async ({ params }, context) => ({
      spans: [
        ...runs.timings.of((await runs.queries.view(signedIn(context).subject, params.id)).id),
      ],
    }),
  };
}

/** The guest side: an instance's agent, with its own token, on its own run only. */
export function agentHandlers(runs: Runs): Pick<Handlers, AgentHandlers> {
  // Waits per agent token (one instance): a recipe's few `bivouac-get --timeout` fit, a loop does not.
  const waits = new ConcurrencyCap(
    limits.agentWaitsPerInstance,
    'TOO_MANY_WAITS',
    'parameter waits per instance',
  );
  return {
    agentContext: async (_input, context) => {
      const agent = timed(runs, context).agent;
      const run = runs.agents.runFor(agent);
      const instance = run.instances.find((candidate) => candidate.name === agent.instance)!;
      const node = run.nodes.find((candidate) => candidate.name === instance.node)!;
      return {
        runId: run.id,
        instance: instance.name,
        node: node.name,
        recipes: recipeNames
          .filter((name) => node.recipes[name] !== undefined)
          .map((name) => ({ name, script: node.recipes[name]! })),
        packages: node.packages,
        packageLine: node.packages.join(' '),
        ports: node.ports,
      };
    },
    agentRecipe: async ({ params }, context) => {
      const agent = timed(runs, context).agent;
      const run = runs.agents.runFor(agent);
      const node = run.nodes.find(
        (candidate) => candidate.name === agent.instance.slice(0, agent.instance.lastIndexOf('.')),
      )!;
      const script = node.recipes[params.name];
      if (script === undefined)
        throw new BivouacError(
          'NOT_FOUND',
          `The image of ${agent.instance} has no ${params.name} recipe.`,
          { resource: 'recipe', name: params.name },
        );
      return { name: params.name, script };
    },
    agentGetParam: async ({ params, query }, context) => {
      const { agent, idle } = timed(runs, context);
      const get = () => runs.agents.getParam(agent, params.key, query.wait, query.unless, idle);
      const value =
        query.wait > 0 ? await waits.with(`${agent.runId}/${agent.instance}`, get) : await get();
      if (value === null)
        throw new BivouacError(
          'PARAM_NOT_SET',
          `${params.key} is not set${query.wait > 0 ? ` after waiting ${query.wait} s` : ''}.`,
          { key: params.key, waitedSeconds: query.wait },
        );
      return { key: params.key, value };
    },
    agentSetParam: async ({ params, body }, context) => {
      const agent = timed(runs, context).agent;
      await runs.agents.agentSetParam(agent, params.key, body.value);
      return null;
    },
    agentComplete: async ({ body }, context) => {
      await runs.agents.complete(timed(runs, context).agent, body.state);
      return null;
    },
    agentAbort: async ({ body }, context) => {
      await runs.agents.agentAbort(timed(runs, context).agent, body.reason);
      return null;
    },
    agentLog: async ({ body }, context) => {
      await runs.agents.agentLog(timed(runs, context).agent, body.text);
      return null;
    },
  };
}

/** Records a deploy request in the new run's timings, from its arrival to its answer; hands back the run. */
export function timedDeploy<T extends { id: string; module: { resolved: string } }>(
  timings: RunTimings,
  context: HandlerContext,
  run: T,
): T {
  const { arrivedMs } = context;
  context.reply.raw.once('finish', () =>
    timings.record(run.id, 'create', run.module.resolved, arrivedMs),
  );
  return run;
}

/**
 * Records the agent's call in its run's timings once the answer is sent: from the request's
 * arrival to then, less the `idle` spans a waiting read fills in (parked on another guest).
 */
function timed(
  runs: Runs,
  context: HandlerContext,
): { agent: AgentPrincipal; idle: [number, number][] } {
  const agent = asAgent(context);
  const idle: [number, number][] = [];
  const raw = context.request.url.replace(/\?.*$/, '').slice(`${apiPrefix}/agent`.length);
  let path = raw;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // shown as sent
  }
  const { arrivedMs } = context;
  context.reply.raw.once('finish', () =>
    runs.timings.record(
      agent.runId,
      'agent',
      `${agent.instance} ${context.request.method} ${path}`,
      arrivedMs,
      performance.now(),
      idle,
    ),
  );
  return { agent, idle };
}

import { isFinal, type RunState } from '../domain/run-states.ts';
import { counts, seconds, usageError } from './arguments.ts';
import type { Commands } from './context.ts';
import { call } from './http.ts';
import { describeRun, table } from './output.ts';
import { waitFor } from './run-waits.ts';

/** `runs`, `run`, `params`, `terminate`, `abort`, `scale` and `delete`: runs. */
export const runCommands: Commands = {
  async runs({ flags, target, show }) {
    const state = flags.state as RunState | undefined;
    const list = await call(target, 'listRuns', {
      query: {
        limit: 200,
        offset: 0,
        ...(state ? { state } : {}),
        ...(flags.tag ? { tag: flags.tag } : {}),
        ...(flags.text ? { q: flags.text } : {}),
      },
    });
    show(list, () =>
      list.runs.length === 0
        ? 'No runs.'
        : table(
            ['RUN', 'STATE', 'TITLE', 'MODULE', 'STARTED'],
            list.runs.map((run) => [
              run.id,
              run.state,
              run.title,
              run.module.resolved,
              run.createdAt,
            ]),
          ),
    );
  },

  async run({ target, show, needs }) {
    const [id] = needs(1, 'a run id');
    const run = await call(target, 'getRun', { params: { id: id! } });
    show(run, () => describeRun(run));
  },

  async params({ target, show, needs }) {
    const [id] = needs(1, 'a run id');
    const params = await call(target, 'runParams', { params: { id: id! } });
    show(params, () =>
      table(
        ['KEY', 'VALUE'],
        Object.keys(params)
          .sort()
          .map((key) => [key, params[key]!]),
      ),
    );
  },

  async terminate({ flags, target, show, needs }) {
    const [id] = needs(1, 'a run id');
    let run = await call(target, 'terminateRun', { params: { id: id! } });
    if (flags.wait) run = await waitFor(target, run.id, [], seconds(flags.timeout, 300));
    show(run, () =>
      isFinal(run.state)
        ? `Run ${run.id} ended: ${run.state}; nothing is left running.`
        : `Run ${run.id} is terminating (${run.state}).`,
    );
  },

  async abort({ target, show, needs }) {
    const [id, reason] = needs(2, 'a run id and a reason');
    const run = await call(target, 'abortRun', {
      params: { id: id! },
      body: { reason: reason! },
    });
    show(run, () => `Run ${run.id}: ${run.state}, ${run.abort?.message ?? ''}`);
  },

  async scale({ target, show, needs }) {
    const [id, node, count] = needs(3, 'a run id, a node and a count');
    const multiplicity = counts([`${node}=${count}`])[node!]!;
    const run = await call(target, 'scaleRun', {
      params: { id: id! },
      body: { node: node!, multiplicity },
    });
    show(run, () => describeRun(run));
  },

  async delete({ io, flags, target, needs }) {
    const [id] = needs(1, 'a run id');
    if (!flags.yes)
      throw usageError(`Deleting run ${id} removes it and its log for good; say --yes to go on.`);
    await call(target, 'deleteRun', { params: { id: id! } });
    io.out(flags.json ? JSON.stringify({ deleted: id }) : `Run ${id} deleted.`);
  },
};

import type { RunInstance, RunNode, StoredRun } from '../domain/runs.ts';
import { BivouacError } from '../errors.ts';

/** The node an instance belongs to. */
export function nodeOf(run: StoredRun, instance: RunInstance): RunNode {
  return run.nodes.find((candidate) => candidate.name === instance.node)!;
}

export function instanceOf(run: StoredRun, name: string): RunInstance {
  const instance = run.instances.find((candidate) => candidate.name === name);
  if (!instance)
    throw new BivouacError('NOT_FOUND', `Run ${run.id} has no instance ${name}.`, {
      resource: 'instance',
      name,
    });
  return instance;
}

/** The libvirt domain name of an instance: `bvc-<run>-<node>-<i>`. */
export function vmName(runId: string, instance: string): string {
  return `bvc-${runId.slice(0, 12)}-${instance.replace('.', '-')}`;
}

import type { Subject } from '../domain/access.ts';
import { log } from '../domain/run-machine.ts';
import { liveFootprint, liveInstances, planInstances, type StoredRun } from '../domain/runs.ts';
import { initialParams, secretKeysOf } from '../domain/run-params.ts';
import { BivouacError } from '../errors.ts';
import type { ParamWaits } from './param-waits.ts';
import { invalid } from './run-errors.ts';
import type { RunLedger } from './run-ledger.ts';
import type { Reservations } from './reservations.ts';

export interface RunScalingParts {
  ledger: RunLedger;
  reservations: Reservations;
  waits: ParamWaits;
  plan: (id: string) => Promise<void>;
  now: () => Date;
}

/**
 * Adds or removes instances of a node while the run is Ready. Growing reserves the extra
 * footprint first (quota checked); shrinking removes the highest-numbered instances. The other
 * instances learn of it through `run:scale` ("<n> add|remove <instances>") and run
 * onNodeAdd/onNodeRemove.
 */
export async function scaleRun(
  parts: RunScalingParts,
  subject: Subject,
  run: StoredRun,
  nodeName: string,
  multiplicity: number,
): Promise<void> {
  const started = performance.now();
  const { id } = run;
  if (run.state !== 'Ready' || run.terminating || run.abort) {
    throw new BivouacError(
      'WRONG_STATE',
      `Run ${id} is ${run.terminating ? 'terminating' : run.state}; scaling is allowed only in Ready.`,
      { state: run.state },
    );
  }
  const node = run.nodes.find((candidate) => candidate.name === nodeName);
  if (!node)
    throw invalid(
      'node',
      `no node ${nodeName}; nodes: ${run.nodes.map((candidate) => candidate.name).join(', ')}`,
    );
  const live = liveInstances(run).filter((instance) => instance.node === nodeName);
  const delta = multiplicity - live.length;
  if (delta === 0) return;
  const kept = liveFootprint(run);
  const wanted = {
    vms: kept.vms + delta,
    vcpu: kept.vcpu + delta * node.resources.vcpu,
    memoryMiB: kept.memoryMiB + delta * node.resources.memoryMiB,
    diskGiB: kept.diskGiB + delta * node.resources.diskGiB,
  };
  if (delta > 0 && run.reservationId) await parts.reservations.resize(run.reservationId, wanted);
  await parts.ledger.change(id, subject.userId, (stored) => {
    const target = stored.nodes.find((candidate) => candidate.name === nodeName)!;
    target.multiplicity = multiplicity;
    const names =
      delta > 0 ? addInstances(stored, nodeName, delta) : removeInstances(stored, nodeName, -delta);
    const sequence = Number.parseInt(stored.params['run:scale'] ?? '0', 10) + 1;
    stored.params['run:scale'] = `${sequence} ${delta > 0 ? 'add' : 'remove'} ${names.join(' ')}`;
    log(
      stored,
      subject.userId,
      'scale',
      `${nodeName}: ${live.length} → ${multiplicity} (${delta > 0 ? 'add' : 'remove'} ${names.join(', ')})`,
      parts.now(),
    );
  });
  parts.waits.wake(id, 'run:scale', started);
  await parts.plan(id);
}

/** New instances numbered after the node's highest, their inputs fed from the first of each source. */
function addInstances(stored: StoredRun, nodeName: string, count: number): string[] {
  const target = stored.nodes.find((candidate) => candidate.name === nodeName)!;
  const next =
    Math.max(
      0,
      ...stored.instances
        .filter((instance) => instance.node === nodeName)
        .map((instance) => instance.index),
    ) + 1;
  const added = planInstances([{ ...target, multiplicity: count }]).map((instance, i) => ({
    ...instance,
    index: next + i,
    name: `${nodeName}.${next + i}`,
  }));
  stored.instances.push(...added);
  for (const instance of added) {
    Object.assign(stored.params, initialParams(target, instance.name, {}));
    for (const [input, mapping] of Object.entries(target.mappings)) {
      if (!('output' in mapping)) continue;
      const [source, output] = mapping.output.split(':');
      const value = stored.params[`${source}.1:${output}`];
      if (value !== undefined) stored.params[`${instance.name}:${input}`] = value;
    }
  }
  stored.secretKeys = secretKeysOf(stored.nodes, stored.instances);
  return added.map((instance) => instance.name);
}

/** The node's highest-numbered live instances, marked for removal. */
function removeInstances(stored: StoredRun, nodeName: string, count: number): string[] {
  const removed = liveInstances(stored)
    .filter((instance) => instance.node === nodeName)
    .sort((a, b) => b.index - a.index)
    .slice(0, count);
  for (const instance of removed) instance.state = 'removing';
  return removed.map((instance) => instance.name);
}

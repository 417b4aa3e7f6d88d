import { describe, expect, it } from 'vitest';
import { advance, nextState } from '../../appliance/src/domain/run-machine.ts';
import type { RunInstance, RunNode, StoredRun } from '../../appliance/src/domain/runs.ts';

const now = new Date('2026-12-07T12:00:00.000Z');

const node: RunNode = {
  name: 'web',
  image: ['/t/web@1'],
  resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
  nativeImages: {},
  packages: [],
  recipes: {},
  inputs: [],
  outputs: [],
  ports: [],
  mappings: {},
  cloudId: 'box',
  multiplicity: 1,
  maxFailures: 0,
  contentHash: null,
};

/** A run of one node `web` with `count` instances, in `state`, with what the machine reads. */
function runOf(state: StoredRun['state'], instances: Partial<RunInstance>[]): StoredRun {
  return {
    id: 'r1',
    state,
    stateEnteredAt: now.toISOString(),
    terminating: false,
    abort: null,
    keepRunning: 'always',
    nodes: [node],
    instances: instances.map((instance, i) => ({
      name: `web.${i + 1}`,
      node: 'web',
      index: i + 1,
      state: 'running',
      vmId: null,
      tokenHash: null,
      completed: [],
      error: null,
      ...instance,
    })),
    params: {},
    given: {},
    secretKeys: [],
    log: [],
  } as unknown as StoredRun;
}

describe('the run state machine (domain/run-machine.ts)', () => {
  it('passes a barrier once every live instance completed it, and goes no further', () => {
    const run = runOf('Executing', [{ completed: ['Executing'] }, { completed: [] }]);
    expect(nextState(run, now)).toBeNull();
    run.instances[1]!.completed.push('Executing');
    expect(nextState(run, now)).toBe('SendingReports');
    advance(run, 'appliance', now);
    expect(run.state).toBe('SendingReports');
    expect(run.params['run:state']).toBe('SendingReports');
    expect(run.log.map((entry) => entry.detail)).toEqual(['Executing → SendingReports']);
  });

  it('cancels a run terminated before anything launched, and finalizes one that launched', () => {
    const untouched = runOf('Initializing', [{ state: 'pending' }]);
    untouched.terminating = true;
    expect(nextState(untouched, now)).toBe('Cancelled');
    const launched = runOf('Provisioning', [{ state: 'running' }]);
    launched.terminating = true;
    expect(nextState(launched, now)).toBe('Finalizing');
    // Finalizing ends once no instance holds a VM: Done, or Aborted after an abort.
    const ending = runOf('Finalizing', [{ state: 'removing' }]);
    expect(nextState(ending, now)).toBeNull();
    ending.instances[0]!.state = 'removed';
    expect(nextState(ending, now)).toBe('Done');
  });

  it('aborts a run whose node lost more instances than it tolerates, naming the instance and why', () => {
    const run = runOf('Provisioning', [{ state: 'failed', error: 'no image' }]);
    expect(nextState(run, now)).toBe('Aborted');
    expect(run.abort).toMatchObject({
      source: 'launch',
      message: 'node web has more failed instances than its maxFailures (0); web.1: no image',
    });
    expect(run.params['run:abort']).toBe(run.abort!.message);
  });
});

import { beforeEach, describe, expect, it } from 'vitest';
import type { EventPayloads, EventType } from '../../appliance/src/domain/events.ts';
import type { RunLogEntry } from '../../appliance/src/domain/runs.ts';
import type { VmRecord } from '../../appliance/src/domain/vms.ts';
import type { LiveEvent } from '../../renderer/src/api/events.ts';
import { useRuns, withEntries, type RunView } from '../../renderer/src/features/runs/runs-store.ts';

const event = <K extends EventType>(type: K, id: string, data: EventPayloads[K]): LiveEvent =>
  ({ id: 1, type, subject: { kind: type.split('.')[0], id }, time: '', data }) as LiveEvent;

const entry = (action: string, detail = ''): RunLogEntry => ({
  time: '2026-12-07T10:00:00.000Z',
  actor: 'appliance',
  action,
  detail,
});

const vm = (id: string, runId: string, state: VmRecord['state']): VmRecord => ({
  id,
  cloudId: 'box',
  nativeId: `bvc-${id}`,
  runId,
  instance: 'web.1',
  owner: 'u1',
  reservationId: null,
  imageId: null,
  state,
  ips: [],
  vcpu: 1,
  memoryMiB: 128,
  diskGiB: 1,
  createdAt: '',
  updatedAt: '',
  goneReason: state === 'gone' ? 'terminated' : null,
});

const detail = () => useRuns.getState().detail!;

describe("the run page applies an event's payload in place", () => {
  beforeEach(() => {
    // Only what the page reads of the run: the rest is never touched by an event.
    const run = { id: 'r1', state: 'Provisioning', abort: null, params: { a: '1' } };
    useRuns.setState({
      detail: {
        id: 'r1',
        run: run as unknown as RunView,
        log: [entry('deploy')],
        vms: [],
        error: null,
      },
    });
  });

  it('a change of state sets the state and appends its log entries, and asks for the run once', () => {
    const changed = event('run.state', 'r1', {
      state: 'Executing',
      from: 'Provisioning',
      abort: null,
      log: [entry('state', 'Executing')],
    });
    expect(useRuns.getState().applyEvent(changed)).toBe(true);
    expect(detail().run!.state).toBe('Executing');
    expect(detail().log.map((held) => held.action)).toEqual(['deploy', 'state']);
    // A reload answered after the change already holds the entry: it is not added twice.
    useRuns.getState().applyEvent(changed);
    expect(detail().log.map((held) => held.action)).toEqual(['deploy', 'state']);
  });

  it('a parameter and a VM of the run are applied without a request', () => {
    expect(
      useRuns
        .getState()
        .applyEvent(event('run.param', 'r1', { key: 'b', value: '2', link: false })),
    ).toBe(false);
    expect(detail().run!.params).toEqual({ a: '1', b: '2' });

    expect(useRuns.getState().applyEvent(event('vm.state', 'v1', vm('v1', 'r1', 'running')))).toBe(
      false,
    );
    expect(useRuns.getState().applyEvent(event('vm.gone', 'v1', vm('v1', 'r1', 'gone')))).toBe(
      false,
    );
    expect(detail().vms.map((held) => [held.id, held.state])).toEqual([['v1', 'gone']]);
  });

  it("another run's events change nothing and ask for nothing", () => {
    const before = detail();
    const other = event('run.state', 'r2', {
      state: 'Ready',
      from: 'SendingReports',
      abort: null,
      log: [entry('state', 'Ready')],
    });
    expect(useRuns.getState().applyEvent(other)).toBe(false);
    expect(useRuns.getState().applyEvent(event('vm.state', 'v2', vm('v2', 'r2', 'running')))).toBe(
      false,
    );
    expect(detail()).toBe(before);
  });
});

describe('a run deleted while its page is open', () => {
  it('leaves the page saying so, with nothing to ask the appliance', () => {
    useRuns.setState({
      detail: { id: 'r1', run: { id: 'r1' } as unknown as RunView, log: [], vms: [], error: null },
    });
    expect(useRuns.getState().applyEvent(event('run.deleted', 'r1', {}))).toBe(false);
    expect(detail().run).toBeNull();
    expect(detail().error).toMatchObject({ code: 'NOT_FOUND', message: 'This run was deleted.' });
  });
});

describe('withEntries', () => {
  it('appends only the entries the log does not end with', () => {
    const log = [entry('a'), entry('b')];
    expect(withEntries(log, [entry('b'), entry('c')]).map((held) => held.action)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(withEntries(log, [])).toBe(log);
  });
});

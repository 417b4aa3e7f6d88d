import { describe, expect, it } from 'vitest';
import { runTimeline } from '../../renderer/src/features/runs/run-timeline.ts';

const log = (...changes: [string, string][]) =>
  changes.map(([time, detail]) => ({ time, action: 'state', detail }));

describe("a run's state timeline", () => {
  it('marks what was passed, where the run is, and what is ahead, with the time each state began', () => {
    const steps = runTimeline(
      { state: 'Executing', createdAt: 't0' },
      log(['t1', 'Initializing → Provisioning'], ['t2', 'Provisioning → Executing']),
    );
    expect(steps.map((step) => [step.state, step.status, step.enteredAt])).toEqual([
      ['Initializing', 'done', 't0'],
      ['Provisioning', 'done', 't1'],
      ['Executing', 'current', 't2'],
      ['SendingReports', 'upcoming', null],
      ['Ready', 'upcoming', null],
      ['Finalizing', 'upcoming', null],
      ['Done', 'upcoming', null],
    ]);
  });

  it('ends an aborted run with Aborted and skips what it never reached', () => {
    const steps = runTimeline(
      { state: 'Aborted', createdAt: 't0' },
      log(['t1', 'Initializing → Provisioning'], ['t2', 'Provisioning → Aborted (launch failed)']),
    );
    expect(steps.map((step) => [step.state, step.status])).toEqual([
      ['Initializing', 'done'],
      ['Provisioning', 'done'],
      ['Executing', 'skipped'],
      ['SendingReports', 'skipped'],
      ['Ready', 'skipped'],
      ['Finalizing', 'skipped'],
      ['Done', 'skipped'],
      ['Aborted', 'current'],
    ]);
    expect(steps.at(-1)?.enteredAt).toBe('t2');
  });

  it('shows a finished run as done throughout', () => {
    const steps = runTimeline({ state: 'Done', createdAt: 't0' }, log(['t5', 'Finalizing → Done']));
    expect(steps.every((step) => step.status === 'done')).toBe(true);
  });
});

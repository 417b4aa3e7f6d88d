import { describe, expect, it } from 'vitest';
import {
  barrierStates,
  canTransition,
  firstAbort,
  forwardPath,
  isFinal,
  keepsRunning,
  nextForward,
  runStates,
  stateDeadline,
  type AbortReason,
} from '../../appliance/src/domain/run-states.ts';

describe('the run state machine', () => {
  it('walks the normal path one state at a time', () => {
    for (let i = 0; i < forwardPath.length - 1; i += 1) {
      expect(canTransition(forwardPath[i]!, forwardPath[i + 1]!)).toBe(true);
      expect(nextForward(forwardPath[i]!)).toBe(forwardPath[i + 1]);
    }
    expect(nextForward('Done')).toBeNull();
    expect(canTransition('Provisioning', 'Ready')).toBe(false); // no skipping a barrier
    expect(canTransition('Ready', 'Executing')).toBe(false); // no going back
  });

  it('can abort from every live state except Finalizing, and cancel only before provisioning', () => {
    for (const state of runStates) {
      if (isFinal(state)) continue;
      expect(canTransition(state, 'Aborted'), state).toBe(true);
    }
    expect(runStates.filter((state) => canTransition(state, 'Cancelled'))).toEqual([
      'Initializing',
    ]);
  });

  it('can terminate from any live state, and final states are final', () => {
    for (const state of runStates) {
      if (isFinal(state))
        expect(
          runStates.some((to) => canTransition(state, to)),
          state,
        ).toBe(false);
      else if (state !== 'Finalizing') expect(canTransition(state, 'Finalizing'), state).toBe(true);
    }
    expect(barrierStates).toEqual(['Provisioning', 'Executing', 'SendingReports', 'Ready']);
  });

  it('gives transitional states a deadline and Ready none', () => {
    const entered = new Date('2026-11-25T10:00:00Z');
    expect(stateDeadline('Provisioning', entered)?.toISOString()).toBe('2026-11-25T10:30:00.000Z');
    expect(
      stateDeadline('Executing', entered, {
        Initializing: 1,
        Provisioning: 1,
        Executing: 5,
        SendingReports: 1,
        Finalizing: 1,
      })?.toISOString(),
    ).toBe('2026-11-25T10:00:05.000Z');
    expect(stateDeadline('Ready', entered)).toBeNull();
    expect(stateDeadline('Done', entered)).toBeNull();
  });

  it('keeps VMs by policy', () => {
    expect(keepsRunning('never', 'success')).toBe(false);
    expect(keepsRunning('always', 'error')).toBe(true);
    expect(keepsRunning('on-success', 'success')).toBe(true);
    expect(keepsRunning('on-success', 'error')).toBe(false);
    expect(keepsRunning('on-error', 'error')).toBe(true);
    expect(keepsRunning('on-error', 'success')).toBe(false);
  });

  it('keeps the first abort reason', () => {
    const first: AbortReason = {
      source: 'recipe',
      message: 'deploy exited 3',
      by: 'web.1',
      at: '2026-11-25T10:00:00Z',
    };
    const second: AbortReason = {
      source: 'timeout',
      message: 'Executing timed out',
      by: 'appliance',
      at: '2026-11-25T10:01:00Z',
    };
    expect(firstAbort(null, first)).toBe(first);
    expect(firstAbort(first, second)).toBe(first);
  });
});

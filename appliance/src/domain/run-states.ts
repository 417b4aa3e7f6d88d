/**
 * The run state machine as data: states, which may follow which, and which are barriers (the
 * run advances when every instance has completed the state). Only the orchestrator changes a
 * run's state, through these functions.
 */

export const runStates = [
  'Initializing',
  'Provisioning',
  'Executing',
  'SendingReports',
  'Ready',
  'Finalizing',
  'Done',
  'Aborted',
  'Cancelled',
] as const;
export type RunState = (typeof runStates)[number];

/** The normal path, in order. */
export const forwardPath: readonly RunState[] = [
  'Initializing',
  'Provisioning',
  'Executing',
  'SendingReports',
  'Ready',
  'Finalizing',
  'Done',
];

/** States every instance must complete before the run moves on. */
export const barrierStates: readonly RunState[] = [
  'Provisioning',
  'Executing',
  'SendingReports',
  'Ready',
];

/** States a run never leaves. */
export const finalStates: readonly RunState[] = ['Done', 'Aborted', 'Cancelled'];

const transitions: Record<RunState, readonly RunState[]> = {
  // Cancelled only before anything was provisioned.
  Initializing: ['Provisioning', 'Cancelled', 'Aborted', 'Finalizing'],
  Provisioning: ['Executing', 'Aborted', 'Finalizing'],
  Executing: ['SendingReports', 'Aborted', 'Finalizing'],
  SendingReports: ['Ready', 'Aborted', 'Finalizing'],
  Ready: ['Finalizing', 'Aborted'],
  // Finalizing ends in Done, or in Aborted when the run had been aborted before terminating.
  Finalizing: ['Done', 'Aborted'],
  Done: [],
  Aborted: [],
  Cancelled: [],
};

export function canTransition(from: RunState, to: RunState): boolean {
  return transitions[from].includes(to);
}

export function isFinal(state: RunState): boolean {
  return finalStates.includes(state);
}

export function isBarrier(state: RunState): boolean {
  return barrierStates.includes(state);
}

/** The next state on the normal path after a barrier is passed; null at the end of it. */
export function nextForward(state: RunState): RunState | null {
  const index = forwardPath.indexOf(state);
  return index >= 0 && index < forwardPath.length - 1 ? forwardPath[index + 1]! : null;
}

/** Seconds a run may stay in each transitional state before it is aborted. Field links are slow. */
export interface StateTimeouts {
  Initializing: number;
  Provisioning: number;
  Executing: number;
  SendingReports: number;
  Finalizing: number;
}

export const defaultStateTimeouts: StateTimeouts = {
  Initializing: 10 * 60,
  Provisioning: 30 * 60,
  Executing: 2 * 60 * 60,
  SendingReports: 30 * 60,
  Finalizing: 30 * 60,
};

/** The deadline of a state entered at `enteredAt`, or null for states without one (Ready, final ones). */
export function stateDeadline(
  state: RunState,
  enteredAt: Date,
  timeouts: StateTimeouts = defaultStateTimeouts,
): Date | null {
  if (!(state in timeouts)) return null;
  return new Date(enteredAt.getTime() + timeouts[state as keyof StateTimeouts] * 1000);
}

/** What to do with the VMs when a run reaches the end of its deployment. */
export const keepRunningPolicies = ['never', 'always', 'on-success', 'on-error'] as const;
export type KeepRunning = (typeof keepRunningPolicies)[number];

/**
 * After Ready (success) or an abort (error): does the run keep its VMs, or go on to terminate
 * them? `never` terminates in both cases.
 */
export function keepsRunning(policy: KeepRunning, outcome: 'success' | 'error'): boolean {
  return (
    policy === 'always' ||
    (policy === 'on-success' && outcome === 'success') ||
    (policy === 'on-error' && outcome === 'error')
  );
}

/** Why a run was aborted: the first reason wins and is kept. */
export interface AbortReason {
  source: 'recipe' | 'timeout' | 'launch' | 'user' | 'reconciler' | 'upgrade';
  message: string;
  /** Who: an instance (`web.1`), a user id, or the appliance. */
  by: string;
  at: string;
}

/** The first abort wins: a second one is ignored (and harmless). */
export function firstAbort(existing: AbortReason | null, next: AbortReason): AbortReason {
  return existing ?? next;
}

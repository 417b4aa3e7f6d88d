import {
  isFinal,
  stateDeadline,
  type AbortReason,
  type StateTimeouts,
} from '../domain/run-states.ts';
import type { StoredRun } from '../domain/runs.ts';

export interface RunDeadlinesParts {
  runs: () => readonly StoredRun[];
  abortRun: (id: string, reason: AbortReason) => Promise<void>;
  now: () => Date;
}

/**
 * Each state's time limit: one timer, for the earliest deadline among live runs (none while
 * nothing can time out), set again after every change; a run past its deadline is aborted.
 */
export class RunDeadlines {
  private ticker: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly parts: RunDeadlinesParts) {}

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = null;
  }

  /** Sets the one timer for the earliest deadline among live runs. */
  schedule(): void {
    if (!this.running) return;
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = null;
    let earliest = Number.POSITIVE_INFINITY;
    for (const run of this.parts.runs()) {
      if (isFinal(run.state) || run.abort) continue;
      const deadline = stateDeadline(run.state, new Date(run.stateEnteredAt), run.timeouts);
      if (deadline) earliest = Math.min(earliest, deadline.getTime());
    }
    if (!Number.isFinite(earliest)) return;
    const delay = Math.min(Math.max(0, earliest - this.parts.now().getTime()) + 5, 2 ** 31 - 1);
    this.ticker = setTimeout(() => void this.check(), delay);
    this.ticker.unref();
  }

  private async check(): Promise<void> {
    const now = this.parts.now();
    for (const run of this.parts.runs()) {
      if (isFinal(run.state) || run.abort) continue;
      const deadline = stateDeadline(run.state, new Date(run.stateEnteredAt), run.timeouts);
      if (deadline && deadline <= now) {
        await this.parts.abortRun(run.id, {
          source: 'timeout',
          message: `${run.state} took longer than ${run.timeouts[run.state as keyof StateTimeouts]} s`,
          by: 'appliance',
          at: now.toISOString(),
        });
      }
    }
    this.schedule();
  }
}

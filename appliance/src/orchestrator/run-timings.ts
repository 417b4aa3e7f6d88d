/**
 * Where the appliance spends time on a run while someone waits on it: the deploy request, each
 * launch (the VM's start and its ports' publishing), every agent call from its arrival to its
 * answer (less the time a waiting read was parked on a value nobody had set yet), and the run's
 * changes of state. All in one clock, `performance.now()` (monotonic, ms since the process
 * started), kept in memory for the most recent runs only: a few array pushes per call, cheap
 * enough to leave on. Read by `GET /runs/:id/timings` (administrators) and the real-deploy bench.
 */

/** What the appliance was doing. */
export type SpanKind = 'create' | 'launch' | 'publish' | 'agent' | 'state';

export interface RunSpan {
  kind: SpanKind;
  /** The instance, the agent call (`GET /params/db.1:ready`) or the state entered. */
  detail: string;
  /** performance.now() at the start; a `state` span is an instant (start = end). */
  startMs: number;
  endMs: number;
  /**
   * Parts of the span in which the appliance waited on a guest instead of working: a read parked
   * until another instance set the value (from parking to the start of that set), or until its
   * timeout. Only agent reads have them.
   */
  idle: [number, number][];
}

/** The spans of this many runs are kept; an older run's are dropped when a new run starts. */
const keptRuns = 32;
/** At most this many spans per run (a run following scaling for months must not grow without end). */
const spansPerRun = 2000;

export class RunTimings {
  private readonly spans = new Map<string, RunSpan[]>();

  /** Records a span of `runId`; `endMs` defaults to now. */
  record(
    runId: string,
    kind: SpanKind,
    detail: string,
    startMs: number,
    endMs = performance.now(),
    idle: [number, number][] = [],
  ): void {
    let spans = this.spans.get(runId);
    if (!spans) {
      spans = [];
      this.spans.set(runId, spans);
      if (this.spans.size > keptRuns) this.spans.delete(this.spans.keys().next().value!);
    }
    if (spans.length >= spansPerRun) spans.shift();
    spans.push({ kind, detail, startMs, endMs, idle });
  }

  /** The run's spans in the order they ended (empty when none are kept). */
  of(runId: string): readonly RunSpan[] {
    return this.spans.get(runId) ?? [];
  }
}

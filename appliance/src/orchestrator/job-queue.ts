import { newId } from '../ids.ts';
import type { MainDocument, StoredJob } from '../store/document.ts';
import type { Store } from '../store/store.ts';

export type JobHandler = (job: StoredJob) => Promise<void>;

export interface JobQueueOptions {
  /** Jobs run at once (launches in parallel, with a bound). */
  concurrency?: number;
  /** Attempts before a job is given up. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt. */
  retryMs?: number;
  /** Told when a job is given up, with the last error. */
  onGiveUp?: (job: StoredJob, error: Error) => Promise<void>;
  now?: () => number;
}

/**
 * A persistent job queue: jobs are in the store before `enqueue` resolves and leave it only once
 * done, so a restart runs again whatever was pending or under way. Handlers must therefore be
 * idempotent. Failed jobs are retried with backoff, then given up.
 */
export class JobQueue {
  private readonly inFlight = new Set<string>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: Store<MainDocument>,
    private readonly handlers: Record<string, JobHandler>,
    private readonly options: JobQueueOptions = {},
  ) {}

  /** Queues the jobs not queued yet; work already queued costs no commit. */
  async enqueue(jobs: Pick<StoredJob, 'kind' | 'runId' | 'target'>[]): Promise<void> {
    const fresh = jobs.filter((job) => !queued(this.store.data, job));
    if (fresh.length === 0) return;
    await this.store.update((document) => this.enqueueInside(document, fresh));
    this.pump();
  }

  /**
   * `enqueue` as part of a caller's own durable update (a run and its first jobs are one
   * commit); the caller calls `jobsAdded()` once that update is committed.
   */
  enqueueInside(
    document: MainDocument,
    jobs: Pick<StoredJob, 'kind' | 'runId' | 'target'>[],
  ): void {
    const now = new Date(this.now()).toISOString();
    for (const job of jobs) {
      // The same work twice is one job.
      if (queued(document, job)) continue;
      document.jobs.push({
        ...job,
        id: newId(),
        attempts: 0,
        notBefore: now,
        createdAt: now,
        lastError: null,
      });
    }
  }

  /** Starts the jobs a committed update added. */
  jobsAdded(): void {
    this.pump();
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking jobs and waits for those under way. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    while (this.inFlight.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  pending(): readonly StoredJob[] {
    return this.store.data.jobs;
  }

  /** Resolves once no job is pending or under way. */
  idle(): Promise<void> {
    if (this.store.data.jobs.length === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private pump(): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const concurrency = this.options.concurrency ?? 4;
    let soonest = Number.POSITIVE_INFINITY;
    for (const job of this.store.data.jobs) {
      if (this.inFlight.size >= concurrency) break;
      if (this.inFlight.has(job.id)) continue;
      const due = Date.parse(job.notBefore);
      if (due > this.now()) {
        soonest = Math.min(soonest, due);
        continue;
      }
      this.inFlight.add(job.id);
      void this.run(job);
    }
    if (Number.isFinite(soonest)) {
      this.timer = setTimeout(() => this.pump(), Math.max(10, soonest - this.now()));
      this.timer.unref();
    }
    if (this.store.data.jobs.length === 0 && this.inFlight.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /**
   * Ends job `id` as part of its handler's own last durable update (a launch's record of its VM),
   * which saves the queue its own commit: a job its handler ended is not removed again.
   */
  completeInside(document: MainDocument, id: string): void {
    document.jobs = document.jobs.filter((candidate) => candidate.id !== id);
  }

  private async run(job: StoredJob): Promise<void> {
    const handler = this.handlers[job.kind];
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(job);
      if (this.store.data.jobs.some((candidate) => candidate.id === job.id))
        await this.store.update((document) => this.completeInside(document, job.id));
    } catch (error) {
      const attempts = job.attempts + 1;
      const givingUp = attempts >= (this.options.maxAttempts ?? 5);
      await this.store.update((document) => {
        if (givingUp) document.jobs = document.jobs.filter((candidate) => candidate.id !== job.id);
        const stored = document.jobs.find((candidate) => candidate.id === job.id);
        if (stored) {
          stored.attempts = attempts;
          stored.lastError = (error as Error).message;
          stored.notBefore = new Date(
            this.now() + (this.options.retryMs ?? 1000) * 2 ** (attempts - 1),
          ).toISOString();
        }
      });
      if (givingUp) await this.options.onGiveUp?.(job, error as Error).catch(() => undefined);
    } finally {
      this.inFlight.delete(job.id);
      this.pump();
    }
  }
}

/** Is the same work (kind, run, target) already a job? */
function queued(
  document: MainDocument,
  job: Pick<StoredJob, 'kind' | 'runId' | 'target'>,
): boolean {
  return document.jobs.some(
    (existing) =>
      existing.kind === job.kind && existing.runId === job.runId && existing.target === job.target,
  );
}

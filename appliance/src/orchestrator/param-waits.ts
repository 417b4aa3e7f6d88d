/**
 * Reads of runtime parameters parked until a change sets the value, by `<run> <key>`. Each is
 * woken with the time (performance.now()) the change that woke it began, so the time a guest
 * waited on another can be told from the time the appliance worked.
 */
export class ParamWaits {
  private readonly waiters = new Map<string, Set<(setAt?: number) => void>>();

  /**
   * Parks until `key` of `runId` is woken or `ms` pass. Resolves with the time the waking change
   * began, the time the wait ran out, or undefined when every wait is ended (the appliance stops).
   */
  wait(runId: string, key: string, ms: number): Promise<number | undefined> {
    const name = `${runId} ${key}`;
    return new Promise((resolve) => {
      const set = this.waiters.get(name) ?? new Set();
      this.waiters.set(name, set);
      const done = (setAt?: number): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(name);
        resolve(setAt);
      };
      const timer = setTimeout(() => done(performance.now()), ms);
      set.add(done);
    });
  }

  /** Wakes the reads parked on `key` of `runId`; `setAt` is when the change that woke them began. */
  wake(runId: string, key: string, setAt: number): void {
    for (const wake of [...(this.waiters.get(`${runId} ${key}`) ?? [])]) wake(setAt);
  }

  /** Wakes every read parked on the run (it ended). */
  wakeRun(runId: string, setAt: number): void {
    for (const [name, waiting] of this.waiters.entries())
      if (name.startsWith(`${runId} `)) for (const wake of [...waiting]) wake(setAt);
  }

  /** Ends every parked read at once, with no time: the appliance stops. */
  endAll(): void {
    for (const wake of [...this.waiters.values()].flatMap((set) => [...set])) wake();
  }

  /** How many reads wait on `key` of `runId` right now. */
  count(runId: string, key: string): number {
    return this.waiters.get(`${runId} ${key}`)?.size ?? 0;
  }
}

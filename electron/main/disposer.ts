/**
 * What every start function in the shell hands back: calling it undoes exactly what was started.
 * It may be async because stopping a child process takes time; calling it twice is harmless.
 */
export type Disposer = () => void | Promise<void>;

/**
 * Collects stops as things start and runs them in reverse order, so that what started last (the
 * window) is gone before what it depends on (the appliance) is stopped. One failing stop must
 * not leave the others undone, so errors are collected and reported once at the end.
 */
export class DisposerStack {
  private readonly disposers: Disposer[] = [];
  private disposing: Promise<void> | null = null;

  /** True once shutdown has begun; an async start checks it before starting anything more. */
  get isDisposed(): boolean {
    return this.disposing !== null;
  }

  /**
   * Adds a stop. Adding after shutdown began is a bug (the thing would outlive the shell), so it
   * throws instead of silently leaking; callers check `isDisposed` after every await.
   */
  add(disposer: Disposer): void {
    if (this.disposing) throw new Error('cannot add a stop: shutdown has already begun');
    this.disposers.push(disposer);
  }

  /** Runs every stop once, newest first; later calls return the same promise. */
  dispose(): Promise<void> {
    this.disposing ??= this.runAll();
    return this.disposing;
  }

  private async runAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const disposer of this.disposers.splice(0).reverse()) {
      try {
        await disposer();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several stops failed');
  }
}

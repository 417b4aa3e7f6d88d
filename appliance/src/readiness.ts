/**
 * What the appliance still does before it can serve a deploy: the listeners answer early (the
 * screen shows the UI while the shipped catalog and images install), and `/healthz` answers 200
 * only once every part of the start-up has ended. A part that failed ends too (the box serves
 * what it can, and says what failed); a part still under way is named.
 */
export interface ReadinessReport {
  ready: boolean;
  /** The parts still under way, in the order they began. */
  starting: string[];
  /** Parts that ended in failure, with why. */
  failed: { part: string; reason: string }[];
}

export class Readiness {
  private readonly pending = new Set<string>();
  private readonly failures: { part: string; reason: string }[] = [];

  /** Tracks `work` as the part `part` of the start-up; returns the same promise, settled alike. */
  track<T>(part: string, work: Promise<T>): Promise<T> {
    this.pending.add(part);
    return work.then(
      (value) => {
        this.pending.delete(part);
        return value;
      },
      (error: unknown) => {
        this.pending.delete(part);
        this.failures.push({ part, reason: (error as Error).message ?? String(error) });
        throw error;
      },
    );
  }

  /** Records a part that ended with some failures (an app of the catalog that did not install). */
  fail(part: string, reason: string): void {
    this.failures.push({ part, reason });
  }

  report(): ReadinessReport {
    return {
      ready: this.pending.size === 0,
      starting: [...this.pending],
      failed: [...this.failures],
    };
  }
}

/**
 * What a start has started, stopped in reverse: each part registers its stop once it runs, and
 * `dispose` runs the stops last first, each awaited in turn. A stop that fails is reported and
 * the others still run. The appliance's start (`server.ts`) and the test appliance stop this way.
 */
export class DisposerStack {
  private readonly stops: { name: string; stop: () => unknown }[] = [];

  /** Registers the stop of what has just started. */
  defer(name: string, stop: () => unknown): void {
    this.stops.push({ name, stop });
  }

  /** Runs every stop registered, the last first; stops registered meanwhile run too. */
  async dispose(onError: (name: string, error: unknown) => void = () => undefined): Promise<void> {
    for (let next = this.stops.pop(); next; next = this.stops.pop()) {
      try {
        await next.stop();
      } catch (error) {
        onError(next.name, error);
      }
    }
  }
}

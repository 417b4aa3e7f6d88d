import type { VmEvent, VmState } from '../contract.ts';

/** libvirt's lifecycle events, by the names virsh prints, mapped onto the contract's states. */
export const lifecycleStates: Record<string, VmState | 'gone'> = {
  Defined: 'stopped',
  Undefined: 'gone',
  Started: 'running',
  Resumed: 'running',
  Suspended: 'paused',
  Stopped: 'stopped',
  Shutdown: 'shutting-down',
  PMSuspended: 'suspended',
  Crashed: 'crashed',
};

export interface EventStreamOptions {
  onEvent: (event: VmEvent) => void;
  /** Told when the stream comes up (true) or goes down (false), so polling can stand in. */
  onStatus?: (up: boolean, reason: string) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** One attempt at a stream: a child process or a socket, ended by `stop()`. */
export interface EventConnection {
  /** Ends it; resolves once it is gone. Its `down` is not called for this. */
  stop(): Promise<void>;
}

/** What a connection tells its supervisor. */
export interface ConnectionCallbacks {
  event(event: VmEvent): void;
  up(reason: string): void;
  /** It ended on its own: restarted after a backoff. */
  down(reason: string): void;
}

/**
 * A lifecycle event stream kept alive: `connect` opens one connection, which is opened again
 * with exponential backoff whenever it ends on its own; `stop()` ends it and any pending
 * restart. The stream's status goes to `onStatus` as connections come up and go down.
 */
export abstract class SupervisedEventStream {
  private connection: EventConnection | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;

  constructor(protected readonly streamOptions: EventStreamOptions) {}

  /** Opens one connection and reports through `callbacks`; each connection gets its own. */
  protected abstract connect(callbacks: ConnectionCallbacks): EventConnection;

  get running(): boolean {
    return this.connection !== null;
  }

  start(): void {
    if (this.stopped || this.connection) return;
    let ended = false;
    const connection = this.connect({
      event: (event) => {
        if (!ended) this.streamOptions.onEvent(event);
      },
      up: (reason) => {
        if (ended) return;
        this.failures = 0;
        this.streamOptions.onStatus?.(true, reason);
      },
      down: (reason) => {
        if (ended) return;
        ended = true;
        this.connection = null;
        if (this.stopped) return;
        this.streamOptions.onStatus?.(false, reason);
        this.failures += 1;
        const min = this.streamOptions.minBackoffMs ?? 1000;
        const delay = Math.min(
          this.streamOptions.maxBackoffMs ?? 60_000,
          min * 2 ** (this.failures - 1),
        );
        this.restartTimer = setTimeout(() => {
          this.restartTimer = null;
          this.start();
        }, delay);
        this.restartTimer.unref();
      },
    });
    if (!ended) this.connection = connection;
  }

  /** Stops the connection and any pending restart; resolves once the connection is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const connection = this.connection;
    this.connection = null;
    await connection?.stop();
  }
}

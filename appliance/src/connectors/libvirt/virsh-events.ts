import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { VmEvent, VmState } from '../contract.ts';

/** A lifecycle event as virsh prints it, state mapped onto the contract's states. */
const lifecycleStates: Record<string, VmState | 'gone'> = {
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

/**
 * One line of `virsh event --all --loop --timestamp`, e.g.
 * `2026-11-25 10:00:00.123+0000: event 'lifecycle' for domain 'bvc-a': Stopped Destroyed`.
 * Other event kinds (reboot, agent, metadata…) and anything unparsable give null.
 */
export function parseVirshEvent(line: string, now: () => Date = () => new Date()): VmEvent | null {
  const match =
    /^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4}): )?event 'lifecycle' for domain '(.*)': (\w+)(?: (\w+))?\s*$/.exec(
      line,
    );
  if (!match) return null;
  const [, stamp, name, event, detail] = match;
  const state = lifecycleStates[event!];
  if (!name || !state) return null;
  const parsed = stamp
    ? Date.parse(stamp.replace(' ', 'T').replace(/([+-]\d\d)(\d\d)$/, '$1:$2'))
    : Number.NaN;
  return {
    nativeId: name,
    name,
    event: detail ? `${event} ${detail}` : event!,
    state,
    time: new Date(Number.isNaN(parsed) ? now().getTime() : parsed).toISOString(),
  };
}

export interface EventStreamOptions {
  uri: string;
  onEvent: (event: VmEvent) => void;
  /** Told when the stream comes up (true) or goes down (false), so polling can stand in. */
  onStatus?: (up: boolean, reason: string) => void;
  /** The program and its arguments; `virsh -c URI event --all --loop --timestamp` by default. */
  command?: readonly string[];
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long the child must run without exiting to count as up (1 s by default). */
  upAfterMs?: number;
}

/**
 * A supervised `virsh event` child: restarted with backoff whenever it dies, stopped (and
 * waited for) on `stop()`. The stream counts as up once the child has run for a moment without
 * exiting, since virsh prints nothing until the first event.
 */
export class VirshEventStream {
  private child: ChildProcess | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private upTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private stopped = false;
  private lastError = '';

  constructor(private readonly options: EventStreamOptions) {}

  get running(): boolean {
    return this.child !== null;
  }

  start(): void {
    if (this.stopped || this.child) return;
    // setpriv's parent-death signal ends virsh with the appliance, even when the appliance is
    // killed outright; otherwise an orphaned `virsh event` would outlive it on the box's daemon.
    const [program, ...args] = this.options.command ?? [
      'setpriv',
      '--pdeathsig',
      'TERM',
      '--',
      'virsh',
      '-q',
      '-c',
      this.options.uri,
      'event',
      '--all',
      '--loop',
      '--timestamp',
    ];
    const child = spawn(program!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseVirshEvent(line);
      if (event) this.options.onEvent(event);
    });
    this.upTimer = setTimeout(() => {
      this.failures = 0;
      this.options.onStatus?.(true, 'event stream running');
    }, this.options.upAfterMs ?? 1000);
    this.upTimer.unref();
    child.once('error', (error) => {
      this.lastError = error.message;
    });
    child.once('close', (code, signal) => {
      if (this.upTimer) clearTimeout(this.upTimer);
      this.child = null;
      if (this.stopped) return;
      const reason =
        this.lastError || stderr.trim() || `virsh exited (${signal ?? `code ${code}`})`;
      this.lastError = '';
      this.options.onStatus?.(false, reason);
      this.failures += 1;
      const min = this.options.minBackoffMs ?? 1000;
      const delay = Math.min(this.options.maxBackoffMs ?? 60_000, min * 2 ** (this.failures - 1));
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        this.start();
      }, delay);
      this.restartTimer.unref();
    });
  }

  /** Stops the child and any pending restart; resolves once the child is gone. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.upTimer) clearTimeout(this.upTimer);
    const child = this.child;
    if (!child) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 1000);
    await closed;
    clearTimeout(killer);
  }
}

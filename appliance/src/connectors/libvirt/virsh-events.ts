import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { VmEvent } from '../contract.ts';
import {
  SupervisedEventStream,
  type ConnectionCallbacks,
  type EventConnection,
  type EventStreamOptions,
  lifecycleStates,
} from './event-stream.ts';

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

export interface VirshEventStreamOptions extends EventStreamOptions {
  uri: string;
  /** The program and its arguments; `virsh -c URI event --all --loop --timestamp` by default. */
  command?: readonly string[];
  /** How long the child must run without exiting to count as up (1 s by default). */
  upAfterMs?: number;
}

/**
 * Events from a supervised `virsh event` child, for daemons this process cannot reach over a
 * local socket (remote hosts over ssh, TCP or TLS). The stream counts as up once the child has
 * run for a moment without exiting, since virsh prints nothing until the first event.
 */
export class VirshEventStream extends SupervisedEventStream {
  constructor(private readonly options: VirshEventStreamOptions) {
    super(options);
  }

  protected connect(callbacks: ConnectionCallbacks): EventConnection {
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
    let stderr = '';
    let spawnError = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseVirshEvent(line);
      if (event) callbacks.event(event);
    });
    const upTimer = setTimeout(
      () => callbacks.up('event stream running'),
      this.options.upAfterMs ?? 1000,
    );
    upTimer.unref();
    child.once('error', (error) => {
      spawnError = error.message;
    });
    const closed = new Promise<void>((resolve) =>
      child.once('close', (code, signal) => {
        clearTimeout(upTimer);
        resolve();
        callbacks.down(spawnError || stderr.trim() || `virsh exited (${signal ?? `code ${code}`})`);
      }),
    );
    return {
      async stop() {
        clearTimeout(upTimer);
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 1000);
        await closed;
        clearTimeout(killer);
      },
    };
  }
}

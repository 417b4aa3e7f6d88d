import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Where the window reaches the appliance when BIVOUAC_LOCAL_LISTEN is not set. */
export const defaultLocalListen = '127.0.0.1:8080';

/** The appliance did not come up: bad address, it exited, or /healthz never answered in time. */
export class ApplianceStartError extends Error {
  override name = 'ApplianceStartError';
}

/**
 * The plain-HTTP origin of a loopback `host:port` (`127.0.0.1:8080`, `localhost:80`, `[::1]:8080`),
 * or null for anything else: the appliance serves plain HTTP only on loopback, and the window
 * never loads the remote-facing HTTPS listener (its certificate is self-signed).
 */
export function loopbackOrigin(hostPort: string): string | null {
  const match = /^(\[::1\]|localhost|127(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(hostPort);
  if (!match) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  return new URL(`http://${match[1]}:${port}`).origin;
}

/**
 * The screen's origin (its local listener, on loopback) of the appliance that holds the data dir,
 * from the log line an appliance writes when it finds its data dir in use
 * (appliance/src/server.ts), or null for any other line.
 */
export function holderOrigin(line: string): string | null {
  let entry: { msg?: unknown; holder?: { screenUrl?: unknown } | null } | null;
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry?.msg !== 'the data dir is in use by another appliance')
    return null;
  const url = entry.holder?.screenUrl;
  if (typeof url !== 'string' || !URL.canParse(url)) return null;
  const parsed = new URL(url);
  return parsed.protocol === 'http:' ? loopbackOrigin(parsed.host) : null;
}

/** How the appliance is started: a plain description, so it can be checked without spawning. */
export interface ApplianceLaunch {
  command: string;
  args: string[];
  /** The app root: the built appliance resolves its npm packages from here. */
  cwd: string;
  env: Record<string, string>;
  /** The appliance's loopback origin, which the shell polls (`/healthz`) and the window loads. */
  origin: string;
}

/**
 * The variables the appliance inherits besides `BIVOUAC_*` and `LC_*`: what it needs to find its
 * data directory (HOME, XDG_DATA_HOME), the session's libvirt socket (XDG_RUNTIME_DIR) and
 * programs (PATH), and to format text and times. The rest of the desktop session — DISPLAY,
 * ELECTRON_*, NODE_OPTIONS and the like — would at best be ignored and at worst change how Node
 * runs.
 */
const inheritedVariables: ReadonlySet<string> = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'XDG_DATA_HOME',
  'XDG_RUNTIME_DIR',
  'LIBVIRT_DEFAULT_URI',
]);

/**
 * The appliance's environment: the allowlisted parent variables, a loopback listener for the
 * window (set explicitly, because the environment wins over the appliance's config file, so the
 * shell knows the port), Electron's binary told to act as plain Node, and NODE_ENV fixed to
 * production so a developer's NODE_ENV never changes how the service runs.
 */
export function applianceEnvironment(parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (name.startsWith('BIVOUAC_') || name.startsWith('LC_') || inheritedVariables.has(name))
      env[name] = value;
  }
  env.BIVOUAC_LOCAL_LISTEN ||= defaultLocalListen;
  env.ELECTRON_RUN_AS_NODE = '1';
  env.NODE_ENV = 'production';
  Object.assign(env, applianceNodeEnvironment);
  return env;
}

/**
 * The V8 options every launcher of the appliance gives node (this shell, `build/start.sh`,
 * `npm run appliance` and the systemd unit; a unit test holds them to this list). V8's young
 * generation grows to 2 × 16 MiB under the load of a first start (migrations, the catalog, image
 * imports) and keeps that memory for the rest of the process's life; the appliance's requests
 * allocate little: with a 1 MiB semi-space `npm run bench -- http-throughput` stays within its
 * run-to-run spread, and a box at rest holds some 20 to 30 MiB less (`npm run bench -- idle`).
 */
export const applianceNodeFlags: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The environment every launcher of the appliance gives node, held to this by the same test.
 * glibc gives each thread that allocates (libuv's pool, V8's helpers) a malloc arena of its own,
 * up to 8 per core, and an arena keeps what it once held: two arenas keep a box at rest some
 * 16 MiB smaller, and node's allocations mostly come from the main thread anyway.
 */
export const applianceNodeEnvironment: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
};

/**
 * What the launchers that run plain node add (`build/start.sh`, `npm run appliance`, the systemd
 * unit; not this shell, whose Chromium brings its own allocator): jemalloc
 * (`build/install-system-deps.sh` installs it) in place of glibc's malloc, which keeps what a
 * busy start freed wherever a live block sits above it: a box at rest held 7 to 26 MiB of its
 * main heap from one start to the next. jemalloc gives freed pages back after a second
 * (`dirty_decay_ms`), and two arenas are enough for node. Without thread caches (`tcache:false`)
 * the threads that allocate now and then (libuv's pool, V8's helpers) hold no freed blocks of
 * their own: a box at rest is some 6 MiB smaller (idle-rss 100 → 94 MiB), for some 13 % of peak
 * request throughput (GET /session 24,500 → 21,000 req/s, seven times its target; `npm run bench
 * -- http-throughput idle`). The appliance drops both variables at start, so the
 * commands it runs keep their own allocator.
 */
export const applianceAllocatorEnvironment: Readonly<Record<string, string>> = {
  LD_PRELOAD: 'libjemalloc.so.2',
  MALLOC_CONF: 'narenas:2,tcache:false,dirty_decay_ms:1000,muzzy_decay_ms:0',
};

/**
 * How the shell starts the appliance: its own binary (`process.execPath`) acting as Node, so the
 * box needs no separate Node.js install, running the built appliance
 * (`dist/appliance/src/server.js`, from `npm run build:appliance`) exactly as `npm run appliance`
 * and the systemd unit do. Throws ApplianceStartError when BIVOUAC_LOCAL_LISTEN is not a
 * loopback `host:port` (e.g. `off`), since the window would have nothing to load.
 */
export function applianceLaunch(
  appRoot: string,
  execPath: string,
  parentEnv: NodeJS.ProcessEnv,
): ApplianceLaunch {
  const env = applianceEnvironment(parentEnv);
  const localListen = env.BIVOUAC_LOCAL_LISTEN ?? defaultLocalListen;
  const origin = loopbackOrigin(localListen);
  if (origin === null) {
    throw new ApplianceStartError(
      `BIVOUAC_LOCAL_LISTEN is ${JSON.stringify(localListen)}; the window needs a loopback host:port such as ${defaultLocalListen}`,
    );
  }
  return {
    command: execPath,
    args: [...applianceNodeFlags, join(appRoot, 'dist', 'appliance', 'src', 'server.js')],
    cwd: appRoot,
    env,
    origin,
  };
}

/** Polling of `/healthz`; defaults suit the real appliance. */
export interface HealthWaitOptions {
  /** A first start makes a TLS key and may migrate the store, so allow a slow box time. */
  timeoutMs?: number;
  intervalMs?: number;
  /** Stops the wait early (the process exited, the shell is quitting); rejects with its reason. */
  signal?: AbortSignal;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new ApplianceStartError(String(signal.reason));
}

/** One probe: true only for a 200 whose body is the appliance's `{ "status": "ok" }`. */
async function isHealthy(origin: string, signal: AbortSignal): Promise<boolean> {
  try {
    const response = await fetch(new URL('/healthz', origin), { signal, redirect: 'error' });
    if (response.status !== 200) return false;
    const body = (await response.json()) as { status?: unknown } | null;
    return body?.status === 'ok';
  } catch {
    // refused, reset, timed out or not JSON: not up yet
    return false;
  }
}

/**
 * Resolves once `GET <origin>/healthz` answers `{ "status": "ok" }`: the appliance opens its
 * listeners only after the store is migrated and its services run, so this is the moment the
 * window can load. Rejects with ApplianceStartError after the timeout.
 */
export async function waitForHealthy(
  origin: string,
  options: HealthWaitOptions = {},
): Promise<void> {
  const { timeoutMs = 60_000, intervalMs = 200, signal } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      throw new ApplianceStartError(`${origin}/healthz did not answer within ${timeoutMs} ms`);
    const probeSignal = AbortSignal.timeout(Math.min(remaining, 2_000));
    if (await isHealthy(origin, signal ? AbortSignal.any([signal, probeSignal]) : probeSignal))
      return;
    if (signal?.aborted) throw abortReason(signal);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(intervalMs, Math.max(deadline - Date.now(), 0)));
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** How the appliance process ended. */
export interface ApplianceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `code 1` or `signal SIGKILL`, for messages. */
export function describeExit(exit: ApplianceExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? 'unknown'}`;
}

/** A running (or starting) appliance. `stop` is its disposer. */
export interface ApplianceProcess {
  readonly pid: number | undefined;
  /** The origin the window loads, once /healthz answers; rejects with ApplianceStartError. */
  readonly ready: Promise<string>;
  /** Settles once the process has exited, whoever caused it. */
  readonly exited: Promise<ApplianceExit>;
  /** SIGTERM, then SIGKILL after the grace period; safe to call more than once. */
  stop(): Promise<ApplianceExit>;
}

/** Timing and output handling; defaults suit the real appliance. */
export interface ApplianceProcessOptions {
  startTimeoutMs?: number;
  healthIntervalMs?: number;
  /** The appliance promises to stop within 5 s of SIGTERM (README). */
  stopGraceMs?: number;
  /** Every output line, so the shell's own log still shows the appliance's. */
  onOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
}

const stderrTailLength = 4000;

/**
 * Starts the appliance as a child process and waits for its /healthz. Never leaves a child
 * behind: a start that fails or times out stops the child itself.
 */
export function startApplianceProcess(
  launch: ApplianceLaunch,
  options: ApplianceProcessOptions = {},
): ApplianceProcess {
  const {
    startTimeoutMs = 60_000,
    healthIntervalMs = 200,
    stopGraceMs = 5_000,
    onOutput,
  } = options;
  const child = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let spawnError: Error | null = null;
  const exited = new Promise<ApplianceExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A failed spawn (missing binary) emits 'error' and no 'exit'.
    child.once('error', (error) => {
      spawnError = error;
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  const hasExited = (): boolean =>
    child.pid === undefined || child.exitCode !== null || child.signalCode !== null;

  let stderrTail = '';
  const closed = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => stream.once('close', () => resolve()));
  const outputClosed = Promise.all([closed(child.stderr), closed(child.stdout)]);
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail = `${stderrTail}${line}\n`.slice(-stderrTailLength);
    onOutput?.(line, 'stderr');
  });
  // An appliance already running on the data dir (the box's service) says where it answers.
  let heldBy: string | null = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    heldBy ??= holderOrigin(line);
    onOutput?.(line, 'stdout');
  });

  let stopping: Promise<ApplianceExit> | null = null;
  const stop = (): Promise<ApplianceExit> => {
    stopping ??= (async () => {
      if (!hasExited()) {
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'late'>((resolve) => {
          timer = setTimeout(() => resolve('late'), stopGraceMs);
        });
        const outcome = await Promise.race([exited, grace]);
        clearTimeout(timer);
        if (outcome === 'late' && !hasExited()) child.kill('SIGKILL');
      }
      return exited;
    })();
    return stopping;
  };

  // The health wait ends as soon as the child exits: nothing of its own would ever answer.
  const childExited = new AbortController();
  void exited.then(async (exit) => {
    // 'exit' can come before the last output lines; they usually say why it failed.
    await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, 200))]);
    const reason = spawnError
      ? `could not be started (${spawnError.message})`
      : `exited with ${describeExit(exit)}`;
    const tail = stderrTail ? `:\n${stderrTail.trimEnd()}` : '';
    childExited.abort(
      new ApplianceStartError(`the appliance ${reason} before /healthz answered${tail}`),
    );
  });

  const ready = waitForHealthy(launch.origin, {
    timeoutMs: startTimeoutMs,
    intervalMs: healthIntervalMs,
    signal: childExited.signal,
  }).then(
    () => launch.origin,
    async (error: unknown) => {
      await stop();
      // Not started because the data dir's appliance already runs: that one is shown, and it is
      // not this shell's to stop (the child that said so has exited).
      if (heldBy) {
        await waitForHealthy(heldBy, { timeoutMs: startTimeoutMs, intervalMs: healthIntervalMs });
        return heldBy;
      }
      throw error;
    },
  );
  // Marked handled here: a caller that only ever stops must not crash on an unhandled rejection.
  ready.catch(() => undefined);

  return { pid: child.pid, ready, exited, stop };
}

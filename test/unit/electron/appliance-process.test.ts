import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApplianceStartError,
  applianceNodeEnvironment,
  applianceNodeFlags,
  applianceLaunch,
  startApplianceProcess,
  waitForHealthy,
  type ApplianceLaunch,
  type ApplianceProcess,
} from '../../../electron/main/appliance-process.ts';
import { assertApplianceBuilt } from '../../fixtures/built-appliance.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const standInAppliance = fileURLToPath(
  new URL('./fixtures/stand-in-appliance.ts', import.meta.url),
);

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The launch the shell makes (applianceLaunch) of this checkout's built appliance, on its own
 * data directory and loopback ports, on libvirt's test driver, with no power control.
 */
async function realLaunch(
  parentEnv: NodeJS.ProcessEnv = {},
  dataDir?: string,
): Promise<ApplianceLaunch> {
  assertApplianceBuilt();
  return applianceLaunch(repoRoot, process.execPath, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...parentEnv,
    BIVOUAC_DATA_DIR: dataDir ?? (await scratchDir()),
    BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${await freePort()}`,
    BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
    BIVOUAC_LIBVIRT_URI: 'test:///default',
    BIVOUAC_BUILTIN_IMAGES_DIR: '/nonexistent',
    BIVOUAC_POWER_CONTROL: 'off',
  });
}

/** The stand-in appliance as a child process (node, its TypeScript through tsx), on a fresh port. */
async function standInLaunch(mode: 'unhealthy' | 'stubborn'): Promise<ApplianceLaunch> {
  const port = await freePort();
  return {
    command: process.execPath,
    args: ['--import', 'tsx', standInAppliance],
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${port}`,
      BIVOUAC_STAND_IN_MODE: mode,
    },
    origin: `http://127.0.0.1:${port}`,
  };
}

/** The appliance's JSON log lines among the output the shell forwarded. */
function logLines(lines: string[]): Record<string, unknown>[] {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line.replace(/^stdout: /, '')) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The real appliance stops well within the shell's 5 s on an idle box; a busy one gets longer. */
const generousGraceMs = 30_000;

const scratchDirs: string[] = [];
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bivouac-shell-'));
  scratchDirs.push(dir);
  return dir;
}

const started: ApplianceProcess[] = [];
function start(...args: Parameters<typeof startApplianceProcess>): ApplianceProcess {
  const appliance = startApplianceProcess(...args);
  started.push(appliance);
  return appliance;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((appliance) => appliance.stop()));
  await Promise.all(scratchDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe(
  'startApplianceProcess with the built appliance (a real child process)',
  { timeout: 60_000 },
  () => {
    it('resolves with the origin once /healthz answers, forwards output, and stops on SIGTERM', async () => {
      const lines: string[] = [];
      const launch = await realLaunch();
      const appliance = start(launch, {
        stopGraceMs: generousGraceMs,
        onOutput: (line, stream) => lines.push(`${stream}: ${line}`),
      });

      await expect(appliance.ready).resolves.toBe(launch.origin);
      const response = await fetch(`${launch.origin}/healthz`);
      expect(response.status).toBe(200);
      expect(isAlive(appliance.pid)).toBe(true);
      const listening = logLines(lines).find((entry) => entry.msg === 'listening');
      expect(listening?.urls).toContain(launch.origin);

      await expect(appliance.stop()).resolves.toEqual({ code: 0, signal: null });
      expect(isAlive(appliance.pid)).toBe(false);
      expect(logLines(lines).map((entry) => entry.msg)).toEqual(
        expect.arrayContaining(['shutting down', 'stopped']),
      );
    });

    it('starts the launch applianceLaunch describes: the built appliance, filtered environment', async () => {
      const launch = await realLaunch({ ...process.env, DISPLAY: ':0', NODE_ENV: 'test' });
      const appliance = start(launch, { stopGraceMs: generousGraceMs });

      await expect(appliance.ready).resolves.toBe(launch.origin);
      const body = (await (await fetch(`${launch.origin}/healthz`)).json()) as { status: string };
      expect(body.status).toBe('ok');
      // What the process is and what it was given, as the system sees it.
      const commandLine = (await readFile(`/proc/${appliance.pid}/cmdline`, 'utf8')).split('\0');
      expect(commandLine.slice(0, 2 + applianceNodeFlags.length)).toEqual([
        process.execPath,
        ...applianceNodeFlags,
        join(repoRoot, 'dist', 'appliance', 'src', 'server.js'),
      ]);
      expect(await readlink(`/proc/${appliance.pid}/cwd`)).toBe(resolve(repoRoot));
      const environ = Object.fromEntries(
        (await readFile(`/proc/${appliance.pid}/environ`, 'utf8'))
          .split('\0')
          .filter(Boolean)
          .map((entry) => [
            entry.slice(0, entry.indexOf('=')),
            entry.slice(entry.indexOf('=') + 1),
          ]),
      );
      expect(environ).toMatchObject({
        NODE_ENV: 'production',
        ELECTRON_RUN_AS_NODE: '1',
        ...applianceNodeEnvironment,
      });
      expect(environ.DISPLAY).toBeUndefined();
      await expect(appliance.stop()).resolves.toEqual({ code: 0, signal: null });
    });

    it('rejects with the exit status and the end of stderr when the appliance dies before answering', async () => {
      // A store that cannot be read: the appliance refuses to start, naming the file.
      const dataDir = await scratchDir();
      await writeFile(join(dataDir, 'bivouac.json'), '{"schemaVersion":1,"users":[');
      const appliance = start(await realLaunch({}, dataDir));
      const error = await appliance.ready.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ApplianceStartError);
      expect((error as Error).message).toMatch(/exited with code 1/);
      expect((error as Error).message).toContain(join(dataDir, 'bivouac.json'));
      await expect(appliance.exited).resolves.toEqual({ code: 1, signal: null });
    });

    it('shows the appliance that already holds the data dir (the box service) instead of a second, and never stops it', async () => {
      const dataDir = await scratchDir();
      const service = start(await realLaunch({}, dataDir), { stopGraceMs: generousGraceMs });
      const serviceOrigin = await service.ready;
      const lines: string[] = [];
      const shell = start(await realLaunch({}, dataDir), {
        onOutput: (line, stream) => lines.push(`${stream}: ${line}`),
      });
      await expect(shell.ready).resolves.toBe(serviceOrigin);
      // The one the shell spawned was refused the data dir and said who holds it.
      await expect(shell.exited).resolves.toEqual({ code: 1, signal: null });
      expect(logLines(lines).find((entry) => entry.holder)).toMatchObject({
        msg: 'the data dir is in use by another appliance',
        holder: { pid: service.pid, screenUrl: serviceOrigin },
      });
      await shell.stop();
      expect(isAlive(service.pid)).toBe(true);
      expect((await fetch(`${serviceOrigin}/healthz`)).status).toBe(200);
    });

    it('rejects when the binary cannot be started', async () => {
      const launch = await realLaunch();
      const appliance = start({ ...launch, command: join(tmpdir(), 'no-such-bivouac-binary') });
      await expect(appliance.ready).rejects.toThrow(/could not be started \(spawn .*ENOENT\)/);
    });

    it('stops once however often it is asked', async () => {
      const appliance = start(await realLaunch(), { stopGraceMs: generousGraceMs });
      await appliance.ready;
      const [first, second] = await Promise.all([appliance.stop(), appliance.stop()]);
      expect(first).toEqual({ code: 0, signal: null });
      expect(second).toBe(first);
    });
  },
);

// The real appliance answers /healthz once it listens and stops on SIGTERM; it cannot be told to
// stay unhealthy or to ignore SIGTERM, so these two run a stand-in that does.
describe('startApplianceProcess with a stand-in appliance that misbehaves on demand', () => {
  it('times out when /healthz never says ok, and leaves no child behind', async () => {
    const appliance = start(await standInLaunch('unhealthy'), {
      startTimeoutMs: 1500,
      healthIntervalMs: 50,
    });
    await expect(appliance.ready).rejects.toThrow(/did not answer within 1500 ms/);
    expect(isAlive(appliance.pid)).toBe(false);
    await expect(appliance.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('kills an appliance that ignores SIGTERM once the grace period is over', async () => {
    const lines: string[] = [];
    const appliance = start(await standInLaunch('stubborn'), {
      stopGraceMs: 300,
      onOutput: (line) => lines.push(line),
    });
    await appliance.ready;
    const before = Date.now();
    await expect(appliance.stop()).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - before).toBeGreaterThanOrEqual(290);
    expect(lines).toContain('ignoring SIGTERM');
    expect(isAlive(appliance.pid)).toBe(false);
  });
});

describe('waitForHealthy', () => {
  it('gives up after the timeout when nothing listens', async () => {
    const origin = `http://127.0.0.1:${await freePort()}`;
    await expect(waitForHealthy(origin, { timeoutMs: 300, intervalMs: 50 })).rejects.toThrow(
      ApplianceStartError,
    );
  });

  it('stops waiting with the reason of its signal', async () => {
    const origin = `http://127.0.0.1:${await freePort()}`;
    const controller = new AbortController();
    // Between attempts it would sleep ten minutes: only the signal can end the wait in time.
    const waiting = waitForHealthy(origin, {
      timeoutMs: 600_000,
      intervalMs: 600_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('the shell is quitting')), 100);
    await expect(waiting).rejects.toThrow('the shell is quitting');
  });
});

import { mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApplianceStartError,
  applianceAllocatorEnvironment,
  applianceNodeEnvironment,
  applianceNodeFlags,
  applianceEnvironment,
  applianceLaunch,
  holderOrigin,
  loopbackOrigin,
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

describe('loopbackOrigin', () => {
  it.each([
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['127.1.2.3:9000', 'http://127.1.2.3:9000'],
    ['localhost:80', 'http://localhost'],
    ['[::1]:8080', 'http://[::1]:8080'],
  ])('accepts %s as %s', (hostPort, origin) => {
    expect(loopbackOrigin(hostPort)).toBe(origin);
  });

  it.each([
    'off',
    '0.0.0.0:8443',
    '192.168.1.10:8080',
    'example.com:8080',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:70000',
    'localhost.evil.com:80',
  ])('rejects %s', (hostPort) => {
    expect(loopbackOrigin(hostPort)).toBeNull();
  });
});

describe('applianceEnvironment', () => {
  it('passes BIVOUAC_*, LC_* and the allowlist on, drops the desktop session, and fixes NODE_ENV', () => {
    const env = applianceEnvironment({
      PATH: '/usr/bin',
      HOME: '/home/op',
      LC_TIME: 'de_DE.UTF-8',
      BIVOUAC_DATA_DIR: '/data',
      DISPLAY: ':0',
      NODE_OPTIONS: '--inspect',
      ELECTRON_ENABLE_LOGGING: '1',
      NODE_ENV: 'test',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/op',
      LC_TIME: 'de_DE.UTF-8',
      BIVOUAC_DATA_DIR: '/data',
      BIVOUAC_LOCAL_LISTEN: '127.0.0.1:8080',
      ELECTRON_RUN_AS_NODE: '1',
      NODE_ENV: 'production',
      MALLOC_ARENA_MAX: '2',
    });
  });

  it('keeps a local listener the user chose', () => {
    expect(
      applianceEnvironment({ BIVOUAC_LOCAL_LISTEN: '127.0.0.1:9999' }).BIVOUAC_LOCAL_LISTEN,
    ).toBe('127.0.0.1:9999');
  });
});

describe('applianceLaunch', () => {
  it('runs the built appliance from the app root and loads the local listener', () => {
    const launch = applianceLaunch('/opt/bivouac', '/opt/bivouac/bivouac', {
      BIVOUAC_LOCAL_LISTEN: '127.0.0.1:9090',
    });
    expect(launch.command).toBe('/opt/bivouac/bivouac');
    expect(launch.args).toEqual([
      ...applianceNodeFlags,
      '/opt/bivouac/dist/appliance/src/server.js',
    ]);
    expect(launch.cwd).toBe('/opt/bivouac');
    expect(launch.origin).toBe('http://127.0.0.1:9090');
  });

  it('gives node the same V8 options and environment as every other launcher of the appliance, and plain node jemalloc', async () => {
    const launchers = {
      'build/start.sh': await readFile(join(repoRoot, 'build', 'start.sh'), 'utf8'),
      'build/bivouac.service': await readFile(join(repoRoot, 'build', 'bivouac.service'), 'utf8'),
      'npm run appliance': (
        JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
          scripts: Record<string, string>;
        }
      ).scripts.appliance!,
    };
    for (const [launcher, text] of Object.entries(launchers)) {
      const started = [
        ...text.matchAll(/\bnode((?: --[\w-]+(?:=\S+)?)*) \S*dist\/appliance\/src\/server\.js/g),
      ].map((match) => match[1]!.trim().split(' ').filter(Boolean));
      expect(started, launcher).toEqual([[...applianceNodeFlags]]);
      for (const [name, value] of Object.entries({
        ...applianceNodeEnvironment,
        ...applianceAllocatorEnvironment,
      }))
        expect(text, launcher).toMatch(
          new RegExp(
            `(?:^|\\s|Environment=)${name}=${value}\\s+(?:(?:Environment=)?[A-Z_]+=\\S+\\s+)*(?:exec )?(?:\\S*node|ExecStart)`,
            'm',
          ),
        );
    }
    expect(applianceEnvironment({})).toMatchObject(applianceNodeEnvironment);
    // Chromium brings its own allocator: Electron acting as node is given none.
    for (const name of Object.keys(applianceAllocatorEnvironment))
      expect(applianceEnvironment({})).not.toHaveProperty(name);
    const installed = await readFile(join(repoRoot, 'build', 'install-system-deps.sh'), 'utf8');
    expect(installed).toMatch(/^packages=\(.*\blibjemalloc2\b.*\)$/m);
  });

  it('refuses a local listener the window cannot load', () => {
    expect(() =>
      applianceLaunch('/opt/bivouac', '/usr/bin/node', { BIVOUAC_LOCAL_LISTEN: 'off' }),
    ).toThrow(ApplianceStartError);
    expect(() =>
      applianceLaunch('/opt/bivouac', '/usr/bin/node', { BIVOUAC_LOCAL_LISTEN: '0.0.0.0:8080' }),
    ).toThrow(/loopback/);
  });
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

describe('holderOrigin', () => {
  const line = (entry: object) => JSON.stringify(entry);
  it("reads the holder's screen origin from the appliance's data-dir-in-use line, and nothing else", () => {
    const inUse = { msg: 'the data dir is in use by another appliance' };
    const holder = (screenUrl: unknown) => ({
      urls: ['http://127.0.0.1:8443', 'http://127.0.0.1:8080'],
      screenUrl,
    });
    expect(holderOrigin(line({ ...inUse, holder: holder('http://127.0.0.1:8080') }))).toBe(
      'http://127.0.0.1:8080',
    );
    // No screen (its local listener is off), or one the window cannot load: nothing to show.
    expect(holderOrigin(line({ ...inUse, holder: holder(null) }))).toBeNull();
    expect(holderOrigin(line({ ...inUse, holder: holder('http://10.0.0.2:8080') }))).toBeNull();
    expect(holderOrigin(line({ ...inUse, holder: holder('https://127.0.0.1:8080') }))).toBeNull();
    expect(holderOrigin(line({ ...inUse, holder: null }))).toBeNull();
    expect(
      holderOrigin(line({ msg: 'listening', holder: holder('http://127.0.0.1:1') })),
    ).toBeNull();
    expect(holderOrigin('null')).toBeNull();
    expect(holderOrigin('bivouac: cannot start')).toBeNull();
  });
});

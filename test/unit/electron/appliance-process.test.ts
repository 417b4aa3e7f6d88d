import { mkdir, mkdtemp, copyFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApplianceStartError,
  applianceEnvironment,
  applianceLaunch,
  loopbackOrigin,
  startApplianceProcess,
  waitForHealthy,
  type ApplianceLaunch,
  type ApplianceProcess,
} from '../../../electron/main/appliance-process.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const fakeAppliance = fileURLToPath(new URL('./fixtures/fake-appliance.ts', import.meta.url));

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

/** The fake appliance as a child process (node, its TypeScript through tsx), on a fresh port. */
async function fakeLaunch(env: Record<string, string> = {}): Promise<ApplianceLaunch> {
  const port = await freePort();
  return {
    command: process.execPath,
    args: ['--import', 'tsx', fakeAppliance],
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${port}`, ...env },
    origin: `http://127.0.0.1:${port}`,
  };
}

const started: ApplianceProcess[] = [];
function start(...args: Parameters<typeof startApplianceProcess>): ApplianceProcess {
  const appliance = startApplianceProcess(...args);
  started.push(appliance);
  return appliance;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((appliance) => appliance.stop()));
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
    expect(launch.args).toEqual(['/opt/bivouac/dist/appliance/src/server.js']);
    expect(launch.cwd).toBe('/opt/bivouac');
    expect(launch.origin).toBe('http://127.0.0.1:9090');
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

describe('startApplianceProcess with a fake appliance (a real child process)', () => {
  it('resolves with the origin once /healthz answers, forwards output, and stops on SIGTERM', async () => {
    const lines: string[] = [];
    const launch = await fakeLaunch({ BIVOUAC_FAKE_DELAY_MS: '400' });
    const appliance = start(launch, {
      onOutput: (line, stream) => lines.push(`${stream}: ${line}`),
    });

    await expect(appliance.ready).resolves.toBe(launch.origin);
    const response = await fetch(`${launch.origin}/healthz`);
    expect(response.status).toBe(200);
    expect(isAlive(appliance.pid)).toBe(true);

    await expect(appliance.stop()).resolves.toEqual({ code: 0, signal: null });
    expect(isAlive(appliance.pid)).toBe(false);
    expect(lines).toContain('stdout: stopping on SIGTERM');
    expect(lines.some((line) => line.startsWith('stdout: {"msg":"listening"'))).toBe(true);
  });

  it('starts the launch applianceLaunch describes: the built appliance, filtered environment', async () => {
    const appRoot = await mkdtemp(join(tmpdir(), 'bivouac-shell-'));
    try {
      // The fake has no type annotations, so it runs as the built ES module would.
      await mkdir(join(appRoot, 'dist', 'appliance', 'src'), { recursive: true });
      await copyFile(fakeAppliance, join(appRoot, 'dist', 'appliance', 'src', 'server.js'));
      await writeFile(join(appRoot, 'package.json'), '{ "type": "module" }\n');
      await symlink(join(repoRoot, 'node_modules'), join(appRoot, 'node_modules'));
      const port = await freePort();
      const launch = applianceLaunch(appRoot, process.execPath, {
        ...process.env,
        BIVOUAC_LOCAL_LISTEN: `127.0.0.1:${port}`,
        DISPLAY: ':0',
        NODE_ENV: 'test',
      });
      const appliance = start(launch);

      await expect(appliance.ready).resolves.toBe(`http://127.0.0.1:${port}`);
      const body = (await (await fetch(`${launch.origin}/healthz`)).json()) as {
        seen: Record<string, unknown>;
      };
      expect(body.seen).toEqual({
        nodeEnv: 'production',
        electronRunAsNode: '1',
        display: null,
        cwd: appRoot,
      });
      await appliance.stop();
    } finally {
      await rm(appRoot, { recursive: true, force: true });
    }
  });

  it('rejects with the exit status and the end of stderr when the appliance dies before answering', async () => {
    const appliance = start(await fakeLaunch({ BIVOUAC_FAKE_MODE: 'crash' }));
    const error = await appliance.ready.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApplianceStartError);
    expect((error as Error).message).toMatch(/exited with code 3/);
    expect((error as Error).message).toMatch(/the store is corrupt/);
    await expect(appliance.exited).resolves.toEqual({ code: 3, signal: null });
  });

  it('rejects when the binary cannot be started', async () => {
    const launch = await fakeLaunch();
    const appliance = start({ ...launch, command: join(tmpdir(), 'no-such-bivouac-binary') });
    await expect(appliance.ready).rejects.toThrow(/could not be started \(spawn .*ENOENT\)/);
  });

  it('times out when /healthz never says ok, and leaves no child behind', async () => {
    const appliance = start(
      await fakeLaunch({ BIVOUAC_FAKE_MODE: 'unhealthy', BIVOUAC_FAKE_DELAY_MS: '0' }),
      {
        startTimeoutMs: 1500,
        healthIntervalMs: 50,
      },
    );
    await expect(appliance.ready).rejects.toThrow(/did not answer within 1500 ms/);
    expect(isAlive(appliance.pid)).toBe(false);
    await expect(appliance.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('kills an appliance that ignores SIGTERM once the grace period is over', async () => {
    const lines: string[] = [];
    const appliance = start(await fakeLaunch({ BIVOUAC_FAKE_MODE: 'stubborn' }), {
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

  it('stops once however often it is asked', async () => {
    const appliance = start(await fakeLaunch());
    await appliance.ready;
    const [first, second] = await Promise.all([appliance.stop(), appliance.stop()]);
    expect(first).toEqual({ code: 0, signal: null });
    expect(second).toBe(first);
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

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ApplianceStartError,
  applianceAllocatorEnvironment,
  applianceNodeEnvironment,
  applianceNodeFlags,
  applianceEnvironment,
  applianceLaunch,
  holderOrigin,
  loopbackOrigin,
} from '../../../electron/main/appliance-process.ts';

/**
 * What the desktop shell launches and reads, without starting anything: the loopback origin its
 * window may load, the appliance's environment and command line (the same as every other
 * launcher's), and the holder of a data dir in the appliance's output.
 */

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

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

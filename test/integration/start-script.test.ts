import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applianceAllocatorEnvironment,
  applianceNodeEnvironment,
  applianceNodeFlags,
} from '../../electron/main/appliance-process.ts';
import { freePort } from '../fixtures/appliance-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A copy of this checkout (its files as they are now, tracked or new), so start.sh builds the UI
 * and the appliance into the copy's own dist/ and never replaces the build other tests are running.
 * build/out (the tiny guest and its packages, cached) is shared as far as it is there
 * (`shareBuildOut`), and every package in node_modules but Electron is linked: start.sh finds
 * them installed and built and leaves them alone, and finds no Electron, whether or not this
 * machine has its binary.
 */
async function copyOfCheckout(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'bivouac-start-'));
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: root, encoding: 'utf8' },
  )
    .split('\0')
    .filter(
      (file) =>
        file &&
        file !== 'node_modules' &&
        !file.startsWith('build/out/') &&
        existsSync(join(root, file)),
    );
  for (const file of new Set(files)) {
    await mkdir(dirname(join(copy, file)), { recursive: true });
    await copyFile(join(root, file), join(copy, file));
  }
  const packages = realpathSync(join(root, 'node_modules'));
  await mkdir(join(copy, 'node_modules'));
  for (const entry of await readdir(packages)) {
    if (entry !== 'electron')
      await symlink(join(packages, entry), join(copy, 'node_modules', entry));
  }
  await shareBuildOut(copy);
  return copy;
}

/**
 * The checkout's cached builds (build/out), as far as they are there, for the copy's start.sh to
 * find up to date, without letting it write into them while other tests boot the tiny guest: the
 * copy gets folders of its own. In tiny/, the kernel is linked (a rebuild moves a new one over the
 * link, never into it) and the small files start.sh's rebuild writes in place are copied; in
 * debs/ each package is linked (a rebuild removes the link and downloads beside it).
 */
async function shareBuildOut(copy: string): Promise<void> {
  const shared = join(root, 'build', 'out');
  const own = join(copy, 'build', 'out');
  const files = async (folder: string): Promise<string[]> =>
    existsSync(join(shared, folder))
      ? (await readdir(realpathSync(join(shared, folder)), { withFileTypes: true }))
          .filter((entry) => entry.isFile())
          .map((entry) => entry.name)
      : [];
  for (const [folder, linked] of [
    ['tiny', (name: string) => name === 'vmlinux'],
    ['debs', () => true],
  ] as const) {
    const present = await files(folder);
    if (present.length === 0) continue;
    const from = realpathSync(join(shared, folder));
    await mkdir(join(own, folder), { recursive: true });
    for (const name of present) {
      if (linked(name)) await symlink(join(from, name), join(own, folder, name));
      else await copyFile(join(from, name), join(own, folder, name));
    }
  }
}

/** Is any process of the group led by `pid` still there? */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function get(url: string): Promise<{ status: number; type: string | null; body: string }> {
  return fetch(url).then(async (response) => ({
    status: response.status,
    type: response.headers.get('content-type'),
    body: await response.text(),
  }));
}

describe("build/start.sh, the README's first command, on a machine without Electron", () => {
  let copy: string | undefined;
  let script: ChildProcess | undefined;

  afterAll(async () => {
    // Whatever happened, nothing start.sh started outlives the test.
    if (script?.pid !== undefined && groupAlive(script.pid)) process.kill(-script.pid, 'SIGKILL');
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  it('builds, prints the URL to open, and the built appliance answers there with the UI; SIGTERM stops it all', async () => {
    copy = await copyOfCheckout();
    const localListen = `127.0.0.1:${await freePort()}`;
    // Its own group (detached), so the test can see that nothing it started is left behind.
    script = spawn('bash', ['build/start.sh'], {
      cwd: copy,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? copy,
        BIVOUAC_DATA_DIR: join(copy, 'data'),
        BIVOUAC_LOCAL_LISTEN: localListen,
        // The remote listener on a loopback port of the test's, not the box's 0.0.0.0:8443.
        BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
        // Set, so start.sh leaves the box's libvirt daemon alone; the appliance dry-runs.
        BIVOUAC_LIBVIRT_URI: 'test:///default',
        BIVOUAC_POWER_CONTROL: 'off',
      },
    });
    let output = '';
    script.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    script.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      script!.once('exit', (code) => resolve(code)),
    );

    // The line it prints for a browser, and the address in it.
    const printed = await new Promise<string>((resolve, reject) => {
      const look = (): void => {
        const match = /Open the UI in a browser: (\S+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      script!.stdout!.on('data', look);
      void exited.then((code) =>
        reject(new Error(`start.sh exited with ${code} before printing a URL:\n${output}`)),
      );
    });
    expect(printed).toBe(`http://${localListen}`);
    expect(output).toContain('no Electron binary on this machine');
    const setupCode = /setup code ([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})/.exec(output)?.[1];
    expect(setupCode).toBeDefined();

    // The appliance start.sh went on to (it became that process) answers at the printed URL.
    let health = await get(`${printed}/healthz`).catch(() => null);
    while (health?.status !== 200) {
      if (script.exitCode !== null)
        throw new Error(`start.sh exited with ${script.exitCode}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = await get(`${printed}/healthz`).catch(() => null);
    }
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });

    // The UI start.sh built, served by the built appliance: the page and the script it loads.
    const page = await get(`${printed}/`);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    const scriptPath = /<script[^>]+src="([^"]+\.js)"/.exec(page.body)?.[1];
    expect(scriptPath).toBeDefined();
    const asset = await get(new URL(scriptPath!, printed).href);
    expect(asset.status).toBe(200);
    expect(asset.type).toMatch(/javascript/);
    // The appliance's own answer: the first-run state of a box with no administrator yet.
    const setup = await get(`${printed}/api/v1/setup`);
    expect(setup.status).toBe(200);
    // The box's own screen (the loopback listener) is handed the very code start.sh printed.
    expect(JSON.parse(setup.body)).toMatchObject({
      needsAdmin: true,
      setupCodeRequired: false,
      setupCode,
    });
    // start.sh became the built appliance it made in the copy, run with plain node and the
    // V8 options every launcher gives it.
    const commandLine = (await readFile(`/proc/${script.pid}/cmdline`, 'utf8'))
      .split('\0')
      .filter(Boolean);
    expect(commandLine).toEqual(['node', ...applianceNodeFlags, 'dist/appliance/src/server.js']);
    const environ = (await readFile(`/proc/${script.pid}/environ`, 'utf8')).split('\0');
    for (const [name, value] of Object.entries({
      ...applianceNodeEnvironment,
      ...applianceAllocatorEnvironment,
    }))
      expect(environ).toContain(`${name}=${value}`);
    // jemalloc is the allocator of the process itself (the variables are dropped for its commands).
    expect(await readFile(`/proc/${script.pid}/maps`, 'utf8')).toContain('libjemalloc.so.2');
    expect(await readlink(`/proc/${script.pid}/cwd`)).toBe(realpathSync(copy));

    process.kill(script.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    // A probe the appliance ran (qemu-img info on a built-in image) may end a moment after it;
    // anything still there after 10 s was left running.
    const deadline = Date.now() + 10_000;
    while (groupAlive(script.pid!) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const left = groupAlive(script.pid!)
      ? execFileSync('ps', ['-o', 'pid,args', '-g', String(script.pid)]).toString()
      : '';
    expect(left).toBe('');
  }, 300_000);
});

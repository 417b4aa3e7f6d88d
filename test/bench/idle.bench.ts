/**
 * The box at rest, as it runs for real: the built appliance under plain node (`npm run
 * build:appliance`), on the box's own libvirt daemon (`qemu:///system`, its events read from
 * the daemon's socket), the built-in images imported (the tiny guest) and the shipped catalog, both listeners
 * (HTTPS, and plain HTTP on loopback for the box's screen), one tiny VM running ("Hello web",
 * deployed to Ready) and one browser page (Debian's Chromium) open on the Dashboard, signed in,
 * following the event stream. After 10 s of settling, measured over 60 s with nobody acting.
 * Figures are for the appliance's whole process tree (node plus what it spawned, such as
 * the commands it runs; not libvirtd nor QEMU, which are the daemon's), read from /proc:
 * - `idle-rss`: resident memory (VmRSS) of the tree, its mean over the window (read every 5 s: a
 *   single reading swings by 20 MiB with when the last garbage collection ran), target < 100 MiB;
 * - `idle-cpu`: CPU (utime + stime, with that of the commands it ran and reaped meanwhile) as a
 *   percentage of one core over the 60 s, target < 0.5 %.
 */
import { chromium, type Browser } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import playwrightConfig from '../../playwright.config.ts';
import {
  adminApi,
  builtServerEntry,
  freePort,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { emit, sleep } from './lib.ts';
import { buildRenderer } from './renderer-build.ts';

const settleMs = 10_000;
const measureMs = 60_000;
const password = 'correct horse battery staple';

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
async function statFields(pid: number): Promise<string[] | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // exited meanwhile
  }
}

/** `pid` and all its descendants alive now. */
async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (fields) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) {
    for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/**
 * CPU of each process in clock ticks: its own (utime + stime) and that of the children it has
 * reaped (cutime + cstime), so a command spawned and gone within the window still counts.
 */
async function cpuTicks(pids: readonly number[]): Promise<Map<number, number>> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const fields = await statFields(pid);
    // Fields 14 to 17 of stat (utime, stime, cutime, cstime); this list starts at field 3 (state).
    if (fields)
      ticks.set(
        pid,
        Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
      );
  }
  return ticks;
}

/** A process's name and its memory lines from /proc/<pid>/status, in KiB (0 once it is gone). */
async function memoryOf(
  pid: number,
): Promise<{ name: string; rss: number; anon: number; file: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? 0);
    return {
      name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
      rss: kib('VmRSS'),
      anon: kib('RssAnon'),
      file: kib('RssFile'),
    };
  } catch {
    return { name: '?', rss: 0, anon: 0, file: 0 };
  }
}

async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | null>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

const { uri } = prepareRealQemu();
// Measured as the box runs it: the built appliance, with the tiny guest shipped beside it.
execFileSync(
  process.execPath,
  ['--import', 'tsx', new URL('../../build/build-appliance.ts', import.meta.url).pathname],
  { stdio: 'ignore' },
);
const rendererDir = await tempDir('bivouac-bench-idle-renderer-');
const dataDir = await tempDir('bivouac-bench-idle-');
let appliance: ApplianceProcess | null = null;
let browser: Browser | null = null;
let runId: string | null = null;
let api: Awaited<ReturnType<typeof adminApi>> | null = null;
try {
  buildRenderer(rendererDir);
  const local = `http://127.0.0.1:${await freePort()}`;
  appliance = await startAppliance(
    dataDir,
    {
      BIVOUAC_LIBVIRT_URI: uri,
      BIVOUAC_TLS: 'always',
      BIVOUAC_LOCAL_LISTEN: local.slice('http://'.length),
      // The images shipped beside the built appliance (the fixture's default is none).
      BIVOUAC_BUILTIN_IMAGES_DIR: '',
      BIVOUAC_RENDERER_DIR: rendererDir,
      BIVOUAC_ADMIN_PASSWORD: password,
    },
    60_000,
    builtServerEntry,
  );
  const call = await adminApi(() => local, password);
  api = call;
  await until('the tiny guest and Hello web to be installed', 180_000, async () => {
    const images = (await call('GET', '/images')).body as unknown as {
      name: string;
      status: string;
    }[];
    const apps = (await call('GET', '/apps')).body as unknown as { id: string }[];
    return images.some((image) => image.name === 'tiny' && image.status === 'ready') &&
      apps.some((app) => app.id === 'hello-web')
      ? true
      : null;
  });
  const deployed = await call('POST', '/apps/hello-web/deploy', { parameters: {} });
  if (deployed.status !== 201)
    throw new Error(`deploy: ${deployed.status} ${JSON.stringify(deployed.body)}`);
  const id = deployed.body!.id as string;
  runId = id;
  await until('the tiny VM to be Ready', 180_000, async () => {
    const state = (await call('GET', `/runs/${id}`)).body!.state as string;
    if (state === 'Aborted' || state === 'Done') throw new Error(`the run ended ${state}`);
    return state === 'Ready' ? true : null;
  });

  browser = await chromium.launch({ ...playwrightConfig.use?.launchOptions, headless: true });
  const context = await browser.newContext();
  const signedIn = await context.request.post(`${local}/api/v1/session`, {
    data: { username: 'admin', password },
  });
  if (!signedIn.ok())
    throw new Error(`sign-in failed: ${signedIn.status()} ${await signedIn.text()}`);
  const page = await context.newPage();
  await page.goto(`${local}/dashboard`);
  await page.locator('.dashboard-runs .state-counts').waitFor();

  const pid = appliance.child.pid!;
  await sleep(settleMs);
  const treeBefore = await processTree(pid);
  const before = await cpuTicks(treeBefore);
  const started = performance.now();
  const readings: number[] = [];
  while (performance.now() - started < measureMs) {
    let kib = 0;
    for (const child of await processTree(pid)) kib += (await memoryOf(child)).rss;
    readings.push(kib / 1024);
    await sleep(Math.min(5000, Math.max(0, measureMs - (performance.now() - started))));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const tree = await processTree(pid);
  const after = await cpuTicks(tree);

  // A process that appeared during the window counts from zero. One that left was reaped by its
  // parent in the tree, whose children's time now holds its whole life: its time before the
  // window comes off.
  let usedTicks = 0;
  for (const [child, ticks] of after) usedTicks += ticks - (before.get(child) ?? 0);
  for (const [child, ticks] of before) if (!after.has(child)) usedTicks -= ticks;
  const cpuPercent = (usedTicks / clockTicksPerSecond() / elapsedSeconds) * 100;
  const parts: string[] = [];
  for (const child of tree) {
    const memory = await memoryOf(child);
    parts.push(
      `${memory.name} ${child}: ${(memory.rss / 1024).toFixed(1)} MiB (anon ${(memory.anon / 1024).toFixed(1)}, file ${(memory.file / 1024).toFixed(1)}), ${(after.get(child) ?? 0) - (before.get(child) ?? 0)} ticks`,
    );
  }
  process.stderr.write(
    `process tree (${tree.length}, before the window ${treeBefore.length}): ${parts.join('; ')}; ${usedTicks} ticks in ${elapsedSeconds.toFixed(1)} s; tree RSS over the window ${Math.min(...readings).toFixed(1)} to ${Math.max(...readings).toFixed(1)} MiB in ${readings.length} readings\n`,
  );
  emit(
    'idle-rss',
    readings.reduce((sum, value) => sum + value, 0) / readings.length,
    'MiB',
    '<100',
  );
  emit('idle-cpu', cpuPercent, '%', '<0.5');
} finally {
  await browser?.close();
  if (api && runId) {
    const call = api;
    const id = runId;
    await call('POST', `/runs/${id}/terminate`).catch(() => undefined);
    await until('the tiny VM to be gone', 60_000, async () =>
      ['Done', 'Aborted', 'Cancelled'].includes(
        (await call('GET', `/runs/${id}`)).body?.state as string,
      )
        ? true
        : null,
    ).catch((error: unknown) => process.stderr.write(`${(error as Error).message}\n`));
  }
  await appliance?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(rendererDir, { recursive: true, force: true });
}

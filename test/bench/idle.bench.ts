/**
 * The appliance at rest: started as its own process on a fresh data dir, left to settle 10 s,
 * then measured over 30 s with nobody calling it. Figures are for the whole process tree (the
 * node process serving plus anything it spawned), read from /proc:
 * - resident memory (VmRSS), target < 120 MB;
 * - CPU (utime + stime) as a percentage of one core over the 30 s, target < 1 %.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { builtServerEntry, startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { emit, sleep } from './lib.ts';

// Measured as the box runs it: the built appliance under plain node (npm run build:appliance).
execFileSync(process.execPath, ['--import', 'tsx', new URL('../../build/build-appliance.ts', import.meta.url).pathname], { stdio: 'ignore' });

const settleMs = 10_000;
const measureMs = 30_000;

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

/** utime + stime of each process, in clock ticks. */
async function cpuTicks(pids: readonly number[]): Promise<Map<number, number>> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const fields = await statFields(pid);
    // Fields 14 and 15 of stat (utime, stime); this list starts at field 3 (state).
    if (fields) ticks.set(pid, Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

async function rssKiB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const dataDir = await tempDir('bivouac-bench-idle-');
const appliance = await startAppliance(dataDir, {}, 20_000, builtServerEntry);
try {
  const pid = appliance.child.pid!;
  await sleep(settleMs);

  const treeBefore = await processTree(pid);
  const before = await cpuTicks(treeBefore);
  const started = performance.now();
  await sleep(measureMs);
  const elapsedSeconds = (performance.now() - started) / 1000;
  const tree = await processTree(pid);
  const after = await cpuTicks(tree);

  // A process that appeared during the window counts from zero; one that left is not seen.
  let usedTicks = 0;
  for (const [child, ticks] of after) usedTicks += ticks - (before.get(child) ?? 0);
  const cpuPercent = (usedTicks / clockTicksPerSecond() / elapsedSeconds) * 100;
  let rss = 0;
  for (const child of tree) rss += await rssKiB(child);

  process.stderr.write(
    `process tree: ${tree.join(', ')} (before the window: ${treeBefore.join(', ')}); ${usedTicks} ticks in ${elapsedSeconds.toFixed(1)} s\n`,
  );
  emit('idle-rss', rss / 1024, 'MB', '<120');
  emit('idle-cpu', cpuPercent, '%', '<1');
} finally {
  await appliance.stop();
  await rm(dataDir, { recursive: true, force: true });
}

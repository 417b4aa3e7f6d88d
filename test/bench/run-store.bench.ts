/**
 * A box that has seen 10,000 runs: they are seeded, finished, into the main document (copies of a
 * real finished run made through the API, with its log and VM record, ending over the last 60
 * days), then the built appliance starts on that store (plain node, on the data disk, never a
 * tmpfs) and its archiver moves them out at the shipped archive age. Then:
 * - the main document's size once the archiver is done (target < 2 MB);
 * - a durable write's p50 (an API token made or revoked, one commit, over HTTP; target < 15 ms) and
 *   its ratio to the same on an empty box running beside it, their writes taking turns
 *   (target <= 1.5);
 * - `GET /runs` p99 (the first page, target < 20 ms) and a text search over all runs, archived
 *   ones included (target < 50 ms);
 * - the appliance's RSS afterwards, at rest (target < 150 MB: the archive is not held in memory),
 *   and while the archiver worked, for context;
 * - cold start to /healthz ready on that store once its archiver has done the work (target
 *   < 1.5 s), and, for context, the first start on the seeded store, which moves the runs (once,
 *   before the box answers ready).
 */
import { execFileSync } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  adminApi,
  builtServerEntry,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { seedFinishedRuns } from '../fixtures/finished-runs.ts';
import { benchDiskDir } from './disk-dir.ts';
import { emit, median, percentile, sleep } from './lib.ts';

const seeded = 10_000;
const password = 'bench password for the run store';

execFileSync(
  process.execPath,
  ['--import', 'tsx', new URL('../../build/build-appliance.ts', import.meta.url).pathname],
  { stdio: 'ignore' },
);

async function timedStart(dataDir: string): Promise<{ appliance: ApplianceProcess; ms: number }> {
  const started = performance.now();
  const appliance = await startAppliance(
    dataDir,
    { BIVOUAC_ADMIN_PASSWORD: password },
    60_000,
    builtServerEntry,
  );
  return { appliance, ms: performance.now() - started };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** RSS after 30 s at rest: V8 gives back what a burst of work left some seconds after it. */
async function restingRss(pid: number): Promise<number> {
  await sleep(30_000);
  return rssMiB(pid);
}

/** Milliseconds of `count` calls of `call`, each timed alone. */
async function timed(count: number, call: () => Promise<{ status: number }>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    const answer = await call();
    times.push(performance.now() - started);
    if (answer.status >= 300) throw new Error(`answered ${answer.status}`);
  }
  return times;
}

/**
 * Times of `pairs` durable writes through the API: an API token made, then revoked (each one
 * commit of the main document; a user holds at most limits.apiTokensPerUser tokens).
 */
async function writeTimes(
  api: Awaited<ReturnType<typeof adminApi>>,
  pairs: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < pairs; i += 1) {
    let started = performance.now();
    const made = await api('POST', '/tokens', { name: 'bench' });
    if (made.status !== 201) throw new Error(`POST /tokens answered ${made.status}`);
    times.push(performance.now() - started);
    started = performance.now();
    const revoked = await api('DELETE', `/tokens/${String(made.body!.id)}`);
    if (revoked.status !== 204) throw new Error(`DELETE /tokens answered ${revoked.status}`);
    times.push(performance.now() - started);
  }
  return times;
}

const { directory } = await benchDiskDir('run-store-');
const empty = join(directory, 'empty');
const full = join(directory, 'full');
const running: ApplianceProcess[] = [];
try {
  // An empty box beside, for the ratio: its writes and the seeded box's take turns, so the
  // disk's own moods fall on both alike.
  const fresh = await timedStart(empty);
  running.push(fresh.appliance);
  const emptyApi = await adminApi(() => fresh.appliance.url, password);

  // The seeded store: an administrator (made by a first start), then the runs.
  const first = await timedStart(full);
  await first.appliance.stop();
  await seedFinishedRuns(full, seeded, 60);
  const mainFile = join(full, 'bivouac.json');
  const seededBytes = (await stat(mainFile)).size;
  process.stderr.write(
    `seeded ${seeded} finished runs: main document ${(seededBytes / 1e6).toFixed(1)} MB (${(seededBytes / seeded).toFixed(0)} bytes a run)\n`,
  );

  const seededStart = await timedStart(full);
  running.push(seededStart.appliance);
  const { appliance } = seededStart;
  // The archiver's first pass runs at start (before /healthz answers ready): wait until the main
  // document stops shrinking all the same.
  let size = seededBytes;
  for (let waited = 0; ; waited += 250) {
    await sleep(250);
    const now = (await stat(mainFile)).size;
    if (now < seededBytes / 2 && now === size) break;
    size = now;
    if (waited > 120_000)
      throw new Error(`the archiver did not finish: main document ${now} bytes`);
  }
  const peakRss = await rssMiB(appliance.child.pid!);
  // The box at rest again: what parsing the seeded document and moving it left is collected (V8
  // gives the memory back within seconds of going idle) before anything is timed.
  const rest = await restingRss(appliance.child.pid!);
  const api = await adminApi(() => appliance.url, password);
  const counted = (await api('GET', '/runs/counts')).body as { total: number };
  if (counted.total < seeded) throw new Error(`only ${counted.total} runs listed`);
  await writeTimes(emptyApi, 10); // both warm up
  await writeTimes(api, 10);
  const emptyTimes: number[] = [];
  const fullTimes: number[] = [];
  for (let round = 0; round < 10; round += 1) {
    emptyTimes.push(...(await writeTimes(emptyApi, 10)));
    fullTimes.push(...(await writeTimes(api, 10)));
  }
  await fresh.appliance.stop();
  const emptyWriteMs = median(emptyTimes);
  const fullWriteMs = median(fullTimes);
  const list = await timed(200, () => api('GET', '/runs'));
  const search = await timed(200, () => api('GET', `/runs?q=${encodeURIComponent('9 delta')}`));
  const found = (await api('GET', `/runs?q=${encodeURIComponent('9 delta')}`)).body as {
    total: number;
  };
  if (found.total === 0) throw new Error('the search found nothing');
  const rss = Math.max(rest, await rssMiB(appliance.child.pid!));
  const archivedBytes = (await stat(mainFile)).size;
  await appliance.stop();
  const again = await timedStart(full);
  running.push(again.appliance);
  await again.appliance.stop();

  process.stderr.write(
    `archived: main document ${(archivedBytes / 1e6).toFixed(2)} MB; search answered ${found.total} runs; ` +
      `durable write p50 ${fullWriteMs.toFixed(2)} ms (empty box ${emptyWriteMs.toFixed(2)} ms)\n`,
  );
  emit('run-store-main-document-size', archivedBytes / 1e6, 'MB', '<2');
  emit('run-store-durable-write-p50', fullWriteMs, 'ms', '<15');
  emit('run-store-durable-write-vs-empty-box', fullWriteMs / emptyWriteMs, 'x', '<=1.5');
  emit('run-store-runs-list-p99', percentile(list, 99), 'ms', '<20');
  emit('run-store-search-p99', percentile(search, 99), 'ms', '<50');
  emit('run-store-rss', rss, 'MiB', '<150');
  emit('run-store-rss-while-archiving', peakRss, 'MiB', null);
  emit('run-store-cold-start-seeded', seededStart.ms, 'ms', null);
  emit('run-store-cold-start-archived', again.ms, 'ms', '<1500');
} finally {
  for (const appliance of running) await appliance.stop().catch(() => undefined);
  await rm(directory, { recursive: true, force: true });
}

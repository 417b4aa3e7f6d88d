/**
 * The 2-node "Web + database" app on real tiny guests (QEMU under TCG on the box's libvirt
 * daemon), from POST to Ready: target < 15 s. Also how much of that is orchestration beyond the
 * guests (target < 1 s): by the appliance's own spans (`GET /runs/:id/timings`, all in its
 * monotonic clock), the time from the run's creation to Ready in which the appliance worked while
 * the deployer or a guest waited on it — the deploy request, each VM's launch, publishing its
 * ports, every agent call from arrival to answer (mapping propagation and parameter wake-ups
 * included: a read parked on a value counts from the start of the set that wakes it), overlapping
 * work counted once. `real-web-db-guests-own` is the rest of that time.
 */
import { join } from 'node:path';
import { build } from '../../appliance/src/app.ts';
import { as, makeAppliance, tempDir } from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { emit, median } from './lib.ts';
import { busyMs, startWithCatalog, until, type TimedSpan } from './real-box.ts';

const { uri, imagesDir } = prepareRealQemu();

const files = await tempDir('bivouac-bench-real-');
const port = await freePort();
const box = await makeAppliance({
  libvirtUri: uri,
  vmDir: join(files, 'vms'),
  imageDir: join(files, 'images'),
  appsDir: join(files, 'apps'),
  agentUrl: `http://10.0.2.2:${port}`,
});
// Guests call the agent listener, as on a box (the main listener refuses their 10.0.2.2 name).
const agentApp = await build(box.services, { listener: 'agent' });
await agentApp.listen({ host: '127.0.0.1', port });
const admin = await startWithCatalog(box, imagesDir);

const runOf = (id: string) => box.services.store.data.runs.find((run) => run.id === id)!;
const waitMs = 120_000;

/** Sums of each kind's spans, for the breakdown on stderr. */
function byKind(spans: readonly TimedSpan[]): string {
  const sums = new Map<string, number>();
  for (const span of spans)
    sums.set(span.kind, (sums.get(span.kind) ?? 0) + busyMs([span], span.startMs, span.endMs));
  return [...sums].map(([kind, ms]) => `${kind} ${ms.toFixed(0)} ms`).join(', ');
}

async function deployOnce(): Promise<{ totalMs: number; overheadMs: number; guestsOwnMs: number }> {
  const started = performance.now();
  const created = await box.app.inject({
    method: 'POST',
    url: '/api/v1/apps/web-db/deploy',
    headers: as(admin),
    payload: { parameters: {} },
  });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json<{ id: string }>().id;
  try {
    return await measure(id, started);
  } finally {
    // Terminated even when a check failed, so no guest outlives the bench on the shared daemon.
    await terminate(id);
  }
}

async function terminate(id: string): Promise<void> {
  const terminated = await box.app.inject({
    method: 'POST',
    url: `/api/v1/runs/${id}/terminate`,
    headers: as(admin),
  });
  if (terminated.statusCode !== 202) throw new Error(terminated.body);
  await until(() => ['Done', 'Aborted'].includes(runOf(id).state), `run ${id} to end`, waitMs);
  await box.services.runs.idle();
}

/** Waits for the run to be Ready and reads its figures. */
async function measure(
  id: string,
  started: number,
): Promise<{ totalMs: number; overheadMs: number; guestsOwnMs: number }> {
  await until(
    () => ['Ready', 'Aborted'].includes(runOf(id).state),
    `run ${id} to be Ready`,
    waitMs,
  );
  const totalMs = performance.now() - started;
  const run = runOf(id);
  if (run.state !== 'Ready')
    throw new Error(`run ended ${run.state}: ${JSON.stringify(run.abort)}`);
  // The appliance stamps a state once it is durable, a moment after the store shows it.
  let spans: TimedSpan[] = [];
  const readTimings = async (): Promise<boolean> => {
    const timings = await box.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/timings`,
      headers: as(admin),
    });
    if (timings.statusCode !== 200) throw new Error(timings.body);
    spans = timings.json<{ spans: TimedSpan[] }>().spans;
    return spans.some((span) => span.kind === 'state' && span.detail === 'Ready');
  };
  for (let tries = 0; !(await readTimings()) && tries < 200; tries += 1)
    await new Promise((resolve) => setTimeout(resolve, 5));
  const createdAt = spans.find((span) => span.kind === 'create')?.startMs;
  const readyAt = spans.find((span) => span.kind === 'state' && span.detail === 'Ready')?.startMs;
  if (createdAt === undefined || readyAt === undefined)
    throw new Error(`the run's timings lack its creation or Ready: ${JSON.stringify(spans)}`);
  // The wake-up is in the figure only if web's read of db.1:ready was really parked on it.
  const parked = spans.find(
    (span) =>
      span.kind === 'agent' &&
      span.detail.startsWith('web.1 GET /params/db.1') &&
      span.idle.length > 0,
  );
  const overheadMs = busyMs(spans, createdAt, readyAt);
  const windowMs = readyAt - createdAt;
  // As this bench measured it before: the total minus each instance's launch-to-last-report span from the run's log.
  const log = (await box.app.inject({ url: `/api/v1/runs/${id}/log`, headers: as(admin) })).json<
    { time: string; actor: string; action: string; detail: string }[]
  >();
  const at = (actor: string, action: string, detail: (text: string) => boolean) =>
    Date.parse(
      log.find((entry) => entry.actor === actor && entry.action === action && detail(entry.detail))
        ?.time ?? 'x',
    );
  const logSpans = run.instances.map(
    (instance) =>
      at(instance.name, 'completed', (text) => text === 'SendingReports') -
      at('appliance', 'launched', (text) => text.startsWith(`${instance.name} `)),
  );
  if (logSpans.some((span) => !Number.isFinite(span)))
    throw new Error(`the run log lacks launch or report entries: ${JSON.stringify(log)}`);
  const earlierMs = totalMs - Math.max(...logSpans);
  process.stderr.write(
    `run ${id}: ${windowMs.toFixed(0)} ms from creation to Ready, appliance busy ${overheadMs.toFixed(0)} ms (${byKind(spans.filter((span) => span.startMs < readyAt))}); ` +
      `web's read ${parked ? `parked ${(parked.idle[0]![1] - parked.idle[0]![0]).toFixed(0)} ms, answered ${(parked.endMs - parked.idle[0]![1]).toFixed(1)} ms after db's set began` : 'was never parked'}; ` +
      `the earlier measure (total minus the longest launch-to-report span in the log): ${earlierMs.toFixed(0)} ms\n`,
  );
  return { totalMs, overheadMs, guestsOwnMs: windowMs - overheadMs };
}

await deployOnce(); // warm-up: the daemon's first start of QEMU probes its capabilities
const totals: number[] = [];
const overheads: number[] = [];
const guestsOwn: number[] = [];
for (let round = 0; round < 3; round += 1) {
  const { totalMs, overheadMs, guestsOwnMs } = await deployOnce();
  totals.push(totalMs);
  overheads.push(overheadMs);
  guestsOwn.push(guestsOwnMs);
}
emit('real-web-db-post-to-ready', median(totals), 'ms', '<15000');
emit('real-web-db-orchestration', median(overheads), 'ms', '<1000');
emit('real-web-db-guests-own', median(guestsOwn), 'ms', null);

await box.services.reconciler.stop();
await box.services.runs.stop();
await box.services.clouds.close();
// Left listening, it would keep the bench from ending.
await agentApp.close();
await box.close();

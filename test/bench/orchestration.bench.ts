/**
 * Orchestration on libvirt's test driver, with guests played by the guest stand-in answering at
 * once (the test driver runs no guest code):
 * - an 8-VM deployment from POST /runs to Ready (target < 2 s) and the per-VM overhead;
 * - the durable commits (`store.update`) of that deployment: those the orchestrator makes from
 *   the POST until its work is done (target <= 2 + 1 per VM), and apart, those the guests'
 *   own report calls make (each agent call is one change of the run);
 * - the wake-up latency of a waiting parameter read after the `set` (target p99 < 50 ms), each
 *   read seen parked in the appliance (`runs.agents.waitingReads`) before the `set`, and answering the
 *   value set;
 * - GET /api/v1/runs with 1,000 runs stored (target p99 < 20 ms).
 */
import { randomUUID } from 'node:crypto';
import { as, countCommits, makeAppliance, setupAdmin } from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';
import type { StoredRun } from '../../appliance/src/domain/runs.ts';
import { emit, percentile } from './lib.ts';

const box = await makeAppliance({ runs: { concurrency: 8 } });
const admin = await setupAdmin(box.app);
const guests = new GuestStandIn(box.app, box.services);
const imageId = await importPlaceholderImage(box.services, admin.userId);
const native = { libvirt: { imageId } };
for (const [path, content] of [
  ['/b', { kind: 'project' }],
  [
    '/b/node',
    {
      kind: 'image',
      nativeImages: native,
      resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
      outputs: [{ name: 'ready' }],
    },
  ],
  ['/b/eight', { kind: 'deployment', nodes: [{ name: 'web', image: '/b/node', multiplicity: 8 }] }],
] as const) {
  await box.app.inject({
    method: 'PUT',
    url: `/api/v1/modules?path=${path}`,
    headers: as(admin),
    payload: { content, message: 'bench' },
  });
}
await box.services.runs.start();

/** Every durable commit of the store, counted (the bench reads the count around its steps). */
const commits = countCommits(box.services.store);

/** Deploys 8 VMs and plays each guest as soon as its VM exists; resolves at Ready. */
async function deployEight(): Promise<{
  totalMs: number;
  id: string;
  orchestratorCommits: number;
  agentCommits: number;
}> {
  const started = performance.now();
  const before = commits();
  const created = await box.app.inject({
    method: 'POST',
    url: '/api/v1/runs',
    headers: as(admin),
    payload: { module: '/b/eight' },
  });
  const id = created.json<{ id: string }>().id;
  await box.services.runs.idle();
  const orchestratorCommits = commits() - before;
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const agent = await guests.agent(id, `web.${i + 1}`);
      await agent.complete('Executing');
      await agent.complete('SendingReports');
    }),
  );
  const run = box.services.store.data.runs.find((candidate) => candidate.id === id)!;
  if (run.state !== 'Ready') throw new Error(`run ended ${run.state}`);
  await box.services.runs.idle();
  return {
    totalMs: performance.now() - started,
    id,
    orchestratorCommits,
    agentCommits: commits() - before - orchestratorCommits,
  };
}

/** Resolves once a read of `key` waits in the appliance; throws if none does within 10 s. */
async function parked(runId: string, key: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (box.services.runs.agents.waitingReads(runId, key) === 0) {
    if (performance.now() > deadline) throw new Error(`no read of ${key} is waiting`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function terminate(id: string): Promise<void> {
  await box.app.inject({ method: 'POST', url: `/api/v1/runs/${id}/terminate`, headers: as(admin) });
  await box.services.runs.idle();
}

await terminate((await deployEight()).id); // warm-up
const totals: number[] = [];
const committed: { orchestratorCommits: number; agentCommits: number }[] = [];
for (let round = 0; round < 5; round += 1) {
  const { totalMs, id, ...counted } = await deployEight();
  totals.push(totalMs);
  committed.push(counted);
  await terminate(id);
}
const median = percentile(totals, 50);
emit('deploy-8-vms-to-ready', median, 'ms', '<2000');
emit('orchestration-overhead-per-vm', median / 8, 'ms', null);
process.stderr.write(
  `commits per 8-VM deploy (orchestrator / agents' reports): ${committed.map((round) => `${round.orchestratorCommits} / ${round.agentCommits}`).join(', ')}\n`,
);
emit(
  'deploy-8-vms-orchestrator-commits',
  Math.max(...committed.map((round) => round.orchestratorCommits)),
  'commits',
  '<=10',
);
emit(
  'deploy-8-vms-agent-report-commits',
  Math.max(...committed.map((round) => round.agentCommits)),
  'commits',
  null,
);

// Wake-up latency: a waiting read resolves after a set on the same run.
const { id: waitRun } = await deployEight();
const reader = await guests.agent(waitRun, 'web.1');
const writer = await guests.agent(waitRun, 'web.2');
const latencies: number[] = [];
// One declared output changing value, followed the way agents follow a key (`--unless`).
let previous = 'start';
await writer.set('web.2:ready', previous);
for (let i = 0; i < 200; i += 1) {
  const waiting = reader
    .get('web.2:ready', 10, previous)
    .then((value) => ({ value, at: performance.now() }));
  // Set only once the read is parked in the appliance, or this would time a plain read.
  await parked(waitRun, 'web.2:ready');
  const setAt = performance.now();
  previous = `yes ${i}`;
  await writer.set('web.2:ready', previous);
  const woken = await waiting;
  if (woken.value !== previous)
    throw new Error(`the waiting read answered ${woken.value}, not the value set`);
  latencies.push(woken.at - setAt);
}
emit('param-wait-wakeup-p50', percentile(latencies, 50), 'ms', null);
emit('param-wait-wakeup-p99', percentile(latencies, 99), 'ms', '<50');
await terminate(waitRun);

// The runs list with 1,000 runs stored (finished ones, as a busy box accumulates).
const template = structuredClone(box.services.store.data.runs[0]!) as StoredRun;
await box.services.store.update((document) => {
  for (let i = 0; i < 1000; i += 1)
    document.runs.push({
      ...structuredClone(template),
      id: randomUUID().replaceAll('-', ''),
      title: `run ${i}`,
      tags: i % 10 === 0 ? ['tenth'] : [],
    });
});
const listTimes: number[] = [];
for (let i = 0; i < 300; i += 1) {
  const started = performance.now();
  const response = await box.app.inject({
    method: 'GET',
    url: i % 2 ? '/api/v1/runs?limit=50' : '/api/v1/runs?tag=tenth&q=run',
    headers: as(admin),
  });
  if (response.statusCode !== 200) throw new Error(response.body);
  listTimes.push(performance.now() - started);
}
emit('runs-list-1000-p50', percentile(listTimes, 50), 'ms', null);
emit('runs-list-1000-p99', percentile(listTimes, 99), 'ms', '<20');

await box.services.runs.stop();
await guests.close();
await box.services.clouds.close();
await box.close();

/**
 * The 2-node "Web + database" app on real tiny guests (QEMU under TCG on the box's libvirt
 * daemon), from POST to Ready: target < 15 s. Also how much of that is orchestration beyond the
 * guests' own lives (target < 1 s): the total minus the longest span from an instance's launch
 * to its last report (boot, recipes and waiting on the other node, all inside the guest).
 */
import { join } from 'node:path';
import { build } from '../../appliance/src/app.ts';
import { as, makeAppliance, tempDir } from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { emit, median } from './lib.ts';
import { startWithCatalog, until } from './real-box.ts';

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

async function deployOnce(): Promise<{ totalMs: number; overheadMs: number }> {
  const started = performance.now();
  const created = await box.app.inject({ method: 'POST', url: '/api/v1/apps/web-db/deploy', headers: as(admin), payload: { parameters: {} } });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json<{ id: string }>().id;
  await until(() => ['Ready', 'Aborted'].includes(runOf(id).state), `run ${id} to be Ready`, waitMs);
  const totalMs = performance.now() - started;
  const run = runOf(id);
  if (run.state !== 'Ready') throw new Error(`run ended ${run.state}: ${JSON.stringify(run.abort)}`);
  // Each instance's own span: from its launch to its last report, read from the run's log.
  const at = (actor: string, action: string, detail: (text: string) => boolean) =>
    Date.parse(run.log.find((entry) => entry.actor === actor && entry.action === action && detail(entry.detail))?.time ?? 'x');
  const spans = run.instances.map((instance) => at(instance.name, 'completed', (text) => text === 'SendingReports') - at('appliance', 'launched', (text) => text.startsWith(`${instance.name} `)));
  if (spans.some((span) => !Number.isFinite(span))) throw new Error(`the run log lacks launch or report entries: ${JSON.stringify(run.log)}`);
  const guestMs = Math.max(...spans);
  const terminated = await box.app.inject({ method: 'POST', url: `/api/v1/runs/${id}/terminate`, headers: as(admin) });
  if (terminated.statusCode !== 202) throw new Error(terminated.body);
  await until(() => ['Done', 'Aborted'].includes(runOf(id).state), `run ${id} to end`, waitMs);
  await box.services.runs.idle();
  return { totalMs, overheadMs: totalMs - guestMs };
}

await deployOnce(); // warm-up: the daemon's first start of QEMU probes its capabilities
const totals: number[] = [];
const overheads: number[] = [];
for (let round = 0; round < 3; round += 1) {
  const { totalMs, overheadMs } = await deployOnce();
  totals.push(totalMs);
  overheads.push(overheadMs);
}
emit('real-web-db-post-to-ready', median(totals), 'ms', '<15000');
emit('real-web-db-orchestration', median(overheads), 'ms', '<1000');
emit('real-web-db-guests-own', median(totals) - median(overheads), 'ms', null);

await box.services.reconciler.stop();
await box.services.runs.stop();
await box.services.clouds.close();
await box.close();

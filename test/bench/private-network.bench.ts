/**
 * Private networks per run on the box (root, bridges, nftables): making and removing one run's
 * network — libvirt network, firewall table, agent listener on its gateway — median of 10
 * (target < 500 ms); and the 2-node "Web + database" app on real tiny guests on such networks,
 * from POST to Ready, median of 3 after a warm-up (reported beside real-deploy's user
 * networking, 4.7 s when it was measured).
 */
import { join } from 'node:path';
import { build } from '../../appliance/src/app.ts';
import { AgentServers } from '../../appliance/src/api/agent-listeners.ts';
import { RunNetworks, networkName } from '../../appliance/src/orchestrator/run-networks.ts';
import { as, makeAppliance, tempDir } from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { emit, median } from './lib.ts';
import { startWithCatalog, until } from './real-box.ts';
import { networkInterfaces } from 'node:os';

const { uri, imagesDir } = prepareRealQemu();
const lan = Object.entries(networkInterfaces())
  .filter(([name]) => !name.startsWith('bvn-') && !name.startsWith('virbr'))
  .flatMap(([, addresses]) => addresses ?? [])
  .find((address) => address.family === 'IPv4' && !address.internal)?.address;
if (!lan) throw new Error('no LAN address: private networks publish ports from it');

const files = await tempDir('bivouac-bench-net-');
const port = await freePort();
const listeners = new AgentServers();
const networks = new RunNetworks({ uri, publicAddress: lan, listeners });
const box = await makeAppliance({
  libvirtUri: uri,
  vmDir: join(files, 'vms'),
  imageDir: join(files, 'images'),
  appsDir: join(files, 'apps'),
  agentUrl: `http://10.0.2.2:${port}`,
  runs: { networks, agentListeners: listeners, publicHost: lan },
});
const agentApp = await build(box.services, { listener: 'agent' });
listeners.serve(agentApp);
await box.app.listen({ host: '127.0.0.1', port });

// ---- one network made and removed ----
const makes: number[] = [];
const removals: number[] = [];
for (let round = 0; round < 11; round += 1) {
  const network = { name: networkName(`bench-${process.pid}-${round}`), prefix: null };
  let started = performance.now();
  const made = await networks.ensure(network, new Set());
  const madeMs = performance.now() - started;
  started = performance.now();
  await networks.release(made.name, made.prefix);
  const removedMs = performance.now() - started;
  if (round === 0) continue; // warm-up
  makes.push(madeMs);
  removals.push(removedMs);
}
emit('private-network-make', median(makes), 'ms', null);
emit('private-network-remove', median(removals), 'ms', null);
emit(
  'private-network-make-and-remove',
  median(makes.map((ms, i) => ms + removals[i]!)),
  'ms',
  '<500',
);

// ---- Web + database on private networks ----
const admin = await startWithCatalog(box, imagesDir);

const runOf = (id: string) => box.services.store.data.runs.find((run) => run.id === id)!;
const waitMs = 180_000;

async function deployOnce(): Promise<number> {
  const started = performance.now();
  const created = await box.app.inject({
    method: 'POST',
    url: '/api/v1/apps/web-db/deploy',
    headers: as(admin),
    payload: { parameters: {} },
  });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json<{ id: string }>().id;
  await until(
    () => ['Ready', 'Aborted'].includes(runOf(id).state),
    `run ${id} to be Ready`,
    waitMs,
  );
  const totalMs = performance.now() - started;
  const run = runOf(id);
  if (run.state !== 'Ready') {
    const log = (await box.app.inject({ url: `/api/v1/runs/${id}/log`, headers: as(admin) })).json<
      unknown[]
    >();
    throw new Error(
      `run ended ${run.state}: ${JSON.stringify(run.abort)} ${JSON.stringify(log.slice(-10))}`,
    );
  }
  if (run.network?.mode !== 'private') throw new Error(`run ${id} is not on a private network`);
  const terminated = await box.app.inject({
    method: 'POST',
    url: `/api/v1/runs/${id}/terminate`,
    headers: as(admin),
  });
  if (terminated.statusCode !== 202) throw new Error(terminated.body);
  await until(() => ['Done', 'Aborted'].includes(runOf(id).state), `run ${id} to end`, waitMs);
  await box.services.runs.idle();
  return totalMs;
}

await deployOnce(); // warm-up
const totals: number[] = [];
for (let round = 0; round < 3; round += 1) totals.push(await deployOnce());
emit('private-web-db-post-to-ready', median(totals), 'ms', null);

await box.services.reconciler.stop();
await box.services.runs.stop();
await listeners.closeAll();
await agentApp.close();
await box.services.clouds.close();
await box.close();

/**
 * From an external `virsh destroy` to the SSE event on a client: a real libvirt daemon (the test
 * driver on a private socket), the appliance's supervised `virsh event` stream, and an SSE client
 * on a loopback port. Timed from just before virsh is started (its own start-up included) to the
 * client's receipt of the `vm.state` event. Target p99 < 500 ms.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { as, makeAppliance, setupAdmin } from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { startPrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { listen } from '../fixtures/sse.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';
import { emit, percentile } from './lib.ts';

const run = promisify(execFile);
const daemon = await startPrivateLibvirtd();
const box = await makeAppliance({ libvirtUri: daemon.uri, reconciler: { idlePollMs: 600_000, watchedPollMs: 600_000 } });
const admin = await setupAdmin(box.app);
const port = await freePort();
await box.app.listen({ host: '127.0.0.1', port });
await box.services.reconciler.start();
while (box.services.reconciler.tracking().box !== 'push') await new Promise((resolve) => setTimeout(resolve, 50));
const token = (await box.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: as(admin), payload: { name: 'bench' } })).json<{ token: string }>().token;
const stream = listen(`http://127.0.0.1:${port}/api/v1/events`, { authorization: `Bearer ${token}` });
await stream.waitFor(() => stream.status === 200);

const latencies: number[] = [];
for (let i = 0; i < 30; i += 1) {
  const vm = await box.services.vms.launch('box', vmSpec(`bvc-bench-push-${i}`, { owner: admin.userId }), null);
  const started = performance.now();
  await run('virsh', ['-c', daemon.uri, 'destroy', vm.nativeId]);
  await stream.waitFor(() => stream.events.some((event) => event.type === 'vm.state' && event.subject.id === vm.id && event.data.state === 'stopped'), 5000);
  latencies.push(performance.now() - started);
  await box.services.vms.terminate(vm.id);
}
emit('virsh-destroy-to-sse-p50', percentile(latencies, 50), 'ms', null);
emit('virsh-destroy-to-sse-p99', percentile(latencies, 99), 'ms', '<500');

await stream.close();
await box.services.reconciler.stop();
await box.services.clouds.close();
await box.close();
await daemon.stop();

/**
 * From an external `virsh destroy` to the SSE event on a client, through a real libvirt daemon,
 * the appliance's supervised event stream (read from the daemon's socket), and an SSE client on a loopback port. Timed
 * from just before virsh is started (its own start-up included) to the client's receipt of the
 * `vm.state` event. Target p99 < 500 ms. Measured twice: on the test driver served by a private
 * daemon (30 VMs), and on the box's daemon with real tiny QEMU guests (10 VMs).
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { VmSpec } from '../../appliance/src/connectors/contract.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { startPrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { listen } from '../fixtures/sse.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';
import { emit, percentile } from './lib.ts';

const run = promisify(execFile);

async function measure(
  box: TestAppliance,
  uri: string,
  count: number,
  spec: (i: number, owner: string) => VmSpec,
): Promise<number[]> {
  const admin = await setupAdmin(box.app);
  const port = await freePort();
  await box.app.listen({ host: '127.0.0.1', port });
  await box.services.reconciler.start();
  while (box.services.reconciler.tracking().box !== 'push')
    await new Promise((resolve) => setTimeout(resolve, 50));
  const token = (
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: as(admin),
      payload: { name: 'bench' },
    })
  ).json<{ token: string }>().token;
  const stream = listen(`http://127.0.0.1:${port}/api/v1/events`, {
    authorization: `Bearer ${token}`,
  });
  await stream.waitFor(() => stream.status === 200);
  const latencies: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const vm = await box.services.vms.launch('box', spec(i, admin.userId), null);
    const started = performance.now();
    await run('virsh', ['-c', uri, 'destroy', vm.nativeId]);
    await stream.waitFor(
      () =>
        stream.events.some(
          (event) =>
            event.type === 'vm.state' &&
            event.subject.id === vm.id &&
            event.data.state === 'stopped',
        ),
      5000,
    );
    latencies.push(performance.now() - started);
    await box.services.vms.terminate(vm.id);
  }
  await stream.close();
  await box.services.reconciler.stop();
  await box.services.clouds.close();
  await box.close();
  return latencies;
}

const quiet = { reconciler: { idlePollMs: 600_000, watchedPollMs: 600_000 } };
const daemon = await startPrivateLibvirtd();
const onTestDriver = await measure(
  await makeAppliance({ libvirtUri: daemon.uri, ...quiet }),
  daemon.uri,
  30,
  (i, owner) => vmSpec(`bvc-bench-push-${i}`, { owner }),
);
await daemon.stop();
emit('virsh-destroy-to-sse-p50', percentile(onTestDriver, 50), 'ms', null);
emit('virsh-destroy-to-sse-p99', percentile(onTestDriver, 99), 'ms', '<500');

const { uri: system, imagesDir } = prepareRealQemu();
const files = await tempDir('bivouac-bench-push-');
const box = await makeAppliance({
  libvirtUri: system,
  vmDir: join(files, 'vms'),
  imageDir: join(files, 'images'),
  ...quiet,
});
await box.services.images.recover();
await box.services.images.installBuiltIn(imagesDir);
const image = box.services.images.bootImage('tiny');
const prefix = `bvc-bench-qemu-${process.pid}-`;
const onQemu = await measure(box, system, 10, (i, owner) =>
  vmSpec(`${prefix}${i}`, { owner, image, accelerator: 'auto' }),
);
emit('qemu-virsh-destroy-to-sse-p50', percentile(onQemu, 50), 'ms', null);
emit('qemu-virsh-destroy-to-sse-p99', percentile(onQemu, 99), 'ms', '<500');
await rm(files, { recursive: true, force: true });

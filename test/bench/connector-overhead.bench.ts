/**
 * Connector overhead on libvirt's test driver: launch + describe + terminate of 8 VMs through
 * the libvirt connector, against the same libvirt calls made directly. The difference per VM is
 * what the connector adds (naming checks, state folders, XML building, typed errors, timeouts).
 * Target: < 50 ms per VM. Also reports the same work through the VM tracker, whose records
 * are durable store writes.
 *
 * The test driver skips what a disk image costs (the qcow2 overlay, the NoCloud seed, the
 * readable checks), so disk-image VMs are measured on the box's own hypervisor as well: the
 * connector launching, describing and terminating VMs from the disk guest
 * (build/disk-guest.sh), against the same libvirt calls on overlays made beforehand. Each VM's
 * QEMU starts and is destroyed at once in both; the difference per VM, the median of paired
 * rounds, is the overlay, the seed and the rest of the connector's work. Target: < 1000 ms per VM.
 * One VM runs at a time in both paths.
 */
import { Hypervisor } from '@unraid/libvirt';
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildDomainXml } from '../../appliance/src/connectors/libvirt/domain-xml.ts';
import { LibvirtConnector } from '../../appliance/src/connectors/libvirt/libvirt-connector.ts';
import { createServices } from '../../appliance/src/app-services.ts';
import { RunArchive } from '../../appliance/src/store/run-archive.ts';
import { RunLogs } from '../../appliance/src/store/run-logs.ts';
import { EventLog } from '../../appliance/src/store/event-log.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { buildDiskGuest, prepareRealQemu } from '../fixtures/real-qemu-setup.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';
import { benchDiskDir } from './disk-dir.ts';
import { emit, median } from './lib.ts';

const vms = 8;
const rounds = 5;

const names = (round: number) =>
  Array.from({ length: vms }, (_, i) => `bvc-bench${round}-web-${i + 1}`);

/** The libvirt calls the connector makes for one VM's life, made directly. */
async function direct(hypervisor: Hypervisor, round: number, dir: string): Promise<number> {
  const started = performance.now();
  for (const name of names(round)) {
    const xml = buildDomainXml(
      vmSpec(name),
      { overlay: null, seed: null, consoleLog: join(dir, `${name}.log`) },
      'qemu',
    );
    const domain = await hypervisor.domainDefineXML(xml);
    await hypervisor.domainCreate(domain);
    const found = await hypervisor.domainLookupByName(name);
    await hypervisor.domainGetInfo(found);
    await hypervisor.domainGetXMLDesc(found);
    await hypervisor.domainGetInfo(found);
    await hypervisor.domainDestroy(found);
    await hypervisor.domainUndefine(found);
  }
  return performance.now() - started;
}

async function viaConnector(connector: LibvirtConnector, round: number): Promise<number> {
  const started = performance.now();
  const ids = await connector.launch(names(round).map((name) => vmSpec(name)));
  await connector.describe(ids);
  await connector.terminate(ids);
  return performance.now() - started;
}

// The tracker's durable store writes and the disk images' overlays and seeds land on the data disk.
const { directory: dir } = await benchDiskDir('connector-overhead-');
const hypervisor = new Hypervisor({ uri: 'test:///default' });
await hypervisor.connectOpen();
const connector = new LibvirtConnector(
  { uri: 'test:///default', accelerator: 'tcg', callTimeoutSeconds: 30 },
  { stateDir: join(dir, 'vms') },
);

// Warm both paths once (first define pays the driver's set-up).
await direct(hypervisor, 100, dir);
await viaConnector(connector, 101);
const directMs: number[] = [];
const connectorMs: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  directMs.push(await direct(hypervisor, round * 2, dir));
  connectorMs.push(await viaConnector(connector, round * 2 + 1));
}
const overheadPerVm = (median(connectorMs) - median(directMs)) / vms;
emit('connector-libvirt-calls-per-vm', median(directMs) / vms, 'ms', null);
emit('connector-overhead-per-vm', overheadPerVm, 'ms', '<50');

// The same through the VM tracker: each state change is a durable store write and an event.
const { store } = await openStore(join(dir, 'data'));
const events = await EventLog.open({ directory: join(dir, 'data', 'events') });
const archive = await RunArchive.open(join(dir, 'data', 'archive'));
const runLogs = await RunLogs.open(join(dir, 'data', 'run-logs'));
const services = createServices({
  dataDir: dir,
  store,
  events,
  archive,
  runLogs,
  vmDir: join(dir, 'tracked'),
});
const trackedMs: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const started = performance.now();
  const records = await Promise.all(
    names(200 + round).map((name) => services.vms.launch('box', vmSpec(name), null)),
  );
  await Promise.all(records.map((record) => services.vms.terminate(record.id)));
  trackedMs.push(performance.now() - started);
}
emit('vm-tracker-launch-terminate-per-vm', median(trackedMs) / vms, 'ms', null);

// Disk images on the box's hypervisor. The folder is passable by QEMU's user (libvirt-qemu),
// as the data dir is; the base image is copied in as the image store would hold it.
const { uri: system, imagesDir } = prepareRealQemu();
const diskVms = 3;
const diskRounds = 5;
const diskDir = join(dir, 'disk');
await mkdir(join(diskDir, 'direct'), { recursive: true });
await chmod(dir, 0o711);
await chmod(diskDir, 0o711);
const base = join(diskDir, 'base.qcow2');
await copyFile(join(buildDiskGuest(imagesDir), 'disk.qcow2'), base);
const diskNames = (round: number) =>
  Array.from({ length: diskVms }, (_, i) => `bvc-bench-disk${process.pid}-${round}-${i + 1}`);
const diskSpec = (name: string) =>
  vmSpec(name, { image: { kind: 'disk', path: base, format: 'qcow2' }, diskGiB: 1 });
// The direct path's disks, one per VM, made once outside the timing.
const directDisks = Array.from({ length: diskVms }, (_, i) =>
  join(diskDir, 'direct', `${i + 1}.qcow2`),
);
for (const disk of directDisks)
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', disk, '1G']);

const systemHypervisor = new Hypervisor({ uri: system });
await systemHypervisor.connectOpen();
const systemConnector = new LibvirtConnector(
  { uri: system, accelerator: 'tcg', callTimeoutSeconds: 30 },
  { stateDir: join(diskDir, 'vms') },
);

async function directDisk(round: number): Promise<number> {
  const started = performance.now();
  for (const [i, name] of diskNames(round).entries()) {
    const xml = buildDomainXml(
      diskSpec(name),
      { overlay: directDisks[i]!, seed: null, consoleLog: join(diskDir, 'direct', `${name}.log`) },
      'qemu',
    );
    const domain = await systemHypervisor.domainDefineXML(xml);
    await systemHypervisor.domainCreate(domain);
    const found = await systemHypervisor.domainLookupByName(name);
    await systemHypervisor.domainGetInfo(found);
    await systemHypervisor.domainGetXMLDesc(found);
    await systemHypervisor.domainGetInfo(found);
    await systemHypervisor.domainDestroy(found);
    await systemHypervisor.domainUndefine(found);
  }
  return performance.now() - started;
}

/** One VM at a time, as the direct path does: guests running side by side would slow each other. */
async function diskViaConnector(round: number): Promise<number> {
  const started = performance.now();
  for (const name of diskNames(round)) {
    const ids = await systemConnector.launch([diskSpec(name)]);
    await systemConnector.describe(ids);
    await systemConnector.terminate(ids);
  }
  return performance.now() - started;
}

try {
  await directDisk(100);
  await diskViaConnector(101);
  const directDiskMs: number[] = [];
  const diskOverheadMs: number[] = [];
  for (let round = 0; round < diskRounds; round += 1) {
    const directRound = await directDisk(round * 2);
    directDiskMs.push(directRound);
    diskOverheadMs.push((await diskViaConnector(round * 2 + 1)) - directRound);
  }
  emit('connector-disk-libvirt-calls-per-vm', median(directDiskMs) / diskVms, 'ms', null);
  emit('connector-disk-overhead-per-vm', median(diskOverheadMs) / diskVms, 'ms', '<1000');
} finally {
  // A failed round leaves its domains on the shared daemon: remove them.
  for (const name of await systemHypervisor
    .connectListAllDomains()
    .then((domains) =>
      Promise.all(domains.map((domain) => systemHypervisor.domainGetName(domain))),
    )) {
    if (!name.startsWith(`bvc-bench-disk${process.pid}-`)) continue;
    for (const command of ['destroy', 'undefine']) {
      try {
        execFileSync('virsh', ['-c', system, command, name], { stdio: 'ignore' });
      } catch {
        // not running, or gone meanwhile
      }
    }
  }
  await systemConnector.close();
  await systemHypervisor.connectClose();
}

await services.clouds.close();
await store.flush();
events.close();
await connector.close();
await hypervisor.connectClose();
await rm(dir, { recursive: true, force: true });

/**
 * Connector overhead on libvirt's test driver: launch + describe + terminate of 8 VMs through
 * the libvirt connector, against the same libvirt calls made directly. The difference per VM is
 * what the connector adds (naming checks, state folders, XML building, typed errors, timeouts).
 * Target: < 50 ms per VM. Also reports the same work through the VM tracker, whose records
 * are durable store writes.
 */
import { Hypervisor } from '@unraid/libvirt';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDomainXml } from '../../appliance/src/connectors/libvirt/domain-xml.ts';
import { LibvirtConnector } from '../../appliance/src/connectors/libvirt/libvirt-connector.ts';
import { createServices } from '../../appliance/src/app.ts';
import { EventLog } from '../../appliance/src/store/event-log.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';
import { emit, median } from './lib.ts';

const vms = 8;
const rounds = 5;

const names = (round: number) => Array.from({ length: vms }, (_, i) => `bvc-bench${round}-web-${i + 1}`);

/** The libvirt calls the connector makes for one VM's life, made directly. */
async function direct(hypervisor: Hypervisor, round: number, dir: string): Promise<number> {
  const started = performance.now();
  for (const name of names(round)) {
    const xml = buildDomainXml(vmSpec(name), { overlay: null, seed: null, consoleLog: join(dir, `${name}.log`) }, 'qemu');
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

const dir = await mkdtemp(join(tmpdir(), 'bivouac-bench-'));
const hypervisor = new Hypervisor({ uri: 'test:///default' });
await hypervisor.connectOpen();
const connector = new LibvirtConnector({ uri: 'test:///default', accelerator: 'tcg', callTimeoutSeconds: 30 }, { stateDir: join(dir, 'vms') });

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
const services = createServices({ dataDir: dir, store, events, vmDir: join(dir, 'tracked') });
const trackedMs: number[] = [];
for (let round = 0; round < rounds; round += 1) {
  const started = performance.now();
  const records = await Promise.all(names(200 + round).map((name) => services.vms.launch('box', vmSpec(name), null)));
  await Promise.all(records.map((record) => services.vms.terminate(record.id)));
  trackedMs.push(performance.now() - started);
}
emit('vm-tracker-launch-terminate-per-vm', median(trackedMs) / vms, 'ms', null);

await services.clouds.close();
await store.flush();
events.close();
await connector.close();
await hypervisor.connectClose();
await rm(dir, { recursive: true, force: true });

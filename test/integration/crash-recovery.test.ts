import { Hypervisor } from '@unraid/libvirt';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';

const trials = 20;
const password = 'crash test password';

/**
 * Crash recovery for real: the appliance runs as a child process on a libvirt daemon of the
 * test's own (the test driver, so domains outlive the appliance), and is killed with SIGKILL at
 * a random moment of a 3-VM deployment. After each restart the run must end Ready (then be
 * terminated to Done) or Aborted, leaving no domain and no reservation behind. The test driver
 * runs no guest code, so this test plays the guests through the agent API, reading each VM's
 * token from the context file its domain hands the guest as fw_cfg, as a guest would.
 */
describe('crash recovery: SIGKILL at random points of a deployment', () => {
  let daemon: PrivateLibvirtd;
  let dataDir: string;
  let appliance: ApplianceProcess;

  const start = async () => {
    appliance = await startAppliance(dataDir, { BIVOUAC_LIBVIRT_URI: daemon.uri, BIVOUAC_ADMIN_PASSWORD: password });
  };
  let api: Awaited<ReturnType<typeof adminApi>>;

  beforeAll(async () => {
    daemon = await startPrivateLibvirtd();
    dataDir = await tempDir('bivouac-crash-');
    await start();
    api = await adminApi(() => appliance.url, password);

    const files = await tempDir('bivouac-crash-image-');
    await writeFile(join(files, 'vmlinux'), Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(1024)]));
    await writeFile(join(files, 'initrd'), gzipSync(Buffer.from('070701')));
    await api('POST', '/images/import', { kind: 'kernel', name: 'tiny', kernel: { path: join(files, 'vmlinux') }, initrd: { path: join(files, 'initrd') } });
    const native = { libvirt: { imageId: 'tiny' } };
    for (const [path, content] of [
      ['/c', { kind: 'project' }],
      ['/c/db', { kind: 'image', nativeImages: native, outputs: [{ name: 'port' }] }],
      ['/c/web', { kind: 'image', nativeImages: native, inputs: [{ name: 'db_port', type: 'string' }] }],
      ['/c/app', { kind: 'deployment', nodes: [{ name: 'db', image: '/c/db' }, { name: 'web', image: '/c/web', multiplicity: 2, mappings: { db_port: { output: 'db:port' } } }] }],
    ] as const) {
      expect((await api('PUT', `/modules?path=${path}`, { content, message: 'crash test' })).status).toBe(200);
    }
  }, 60_000);
  afterAll(async () => {
    await appliance?.stop();
    await daemon?.stop();
  });

  /** The agent token of every Bivouac domain, read from its fw_cfg context file. */
  async function guestTokens(): Promise<Map<string, string>> {
    const hypervisor = new Hypervisor({ uri: daemon.uri });
    await hypervisor.connectOpen();
    const tokens = new Map<string, string>();
    try {
      for (const domain of await hypervisor.connectListAllDomains()) {
        const xml = await hypervisor.domainGetXMLDesc(domain).catch(() => '');
        const file = /<entry name=["']opt\/bivouac\/context["'] file=["']([^"']+)["']/.exec(xml)?.[1];
        const context = file ? await readFile(file, 'utf8').catch(() => '') : '';
        const instance = /^bivouac\.instance=(.*)$/m.exec(context)?.[1];
        const secret = /^bivouac\.token=(.*)$/m.exec(context)?.[1];
        if (instance && secret) tokens.set(`${await hypervisor.domainGetName(domain)} ${instance}`, secret);
      }
    } finally {
      await hypervisor.connectClose();
    }
    return tokens;
  }

  /** Plays every guest once: db publishes its port, everyone reports its states. */
  async function playGuests(): Promise<void> {
    for (const [key, secret] of await guestTokens()) {
      const instance = key.split(' ')[1]!;
      const agent = (method: string, path: string, body: unknown) =>
        fetch(`${appliance.url}/api/v1/agent${path}`, { method, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => null);
      if (instance === 'db.1') await agent('POST', '/params/db.1:port', { value: '5432' });
      await agent('POST', '/complete', { state: 'Executing' });
      await agent('POST', '/complete', { state: 'SendingReports' });
    }
  }

  async function domainNames(): Promise<string[]> {
    const hypervisor = new Hypervisor({ uri: daemon.uri });
    await hypervisor.connectOpen();
    try {
      const names = await Promise.all((await hypervisor.connectListAllDomains()).map((domain) => hypervisor.domainGetName(domain)));
      return names.filter((name) => name.startsWith('bvc-'));
    } finally {
      await hypervisor.connectClose();
    }
  }

  it(`ends every run cleanly after ${trials} kills at random moments`, async () => {
    const outcomes: string[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      const created = await api('POST', '/runs', { module: '/c/app', keepRunning: 'always', title: `trial ${trial}` });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body!.id as string;

      // Guests answer while the appliance runs; the kill lands somewhere in the deployment: right
      // after the request, after a few rounds of guest reports, or while it is being terminated.
      const rounds = trial % 5;
      for (let round = 0; round < rounds; round += 1) await playGuests();
      if (trial % 4 === 3) await api('POST', `/runs/${id}/terminate`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      const before = ((await api('GET', `/runs/${id}`)).body!.state as string) ?? '?';
      appliance.child.kill('SIGKILL');
      await appliance.stop('SIGKILL');
      await start();

      let state = '';
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        state = ((await api('GET', `/runs/${id}`)).body!.state as string) ?? '';
        if (['Ready', 'Done', 'Aborted', 'Cancelled'].includes(state)) break;
        await playGuests();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(['Ready', 'Done', 'Aborted', 'Cancelled'], `trial ${trial} stuck in ${state}`).toContain(state);
      outcomes.push(`${before}→${state}`);

      await api('POST', `/runs/${id}/terminate`);
      const ended = Date.now() + 30_000;
      while (Date.now() < ended) {
        const run = (await api('GET', `/runs/${id}`)).body!;
        if (['Done', 'Aborted', 'Cancelled'].includes(run.state as string) && !(run.instances as { state: string }[]).some((instance) => instance.state === 'running' || instance.state === 'launching')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await expect.poll(domainNames, { timeout: 15_000, message: `trial ${trial}: domains left` }).toEqual([]);
      type Capacity = { box: { vms: { used: number; reserved: number } } };
      await expect.poll(async () => ((await api('GET', '/capacity')).body as Capacity).box.vms, { timeout: 10_000, message: `trial ${trial}: reservation leaked` }).toEqual(expect.objectContaining({ used: 0, reserved: 0 }));
    }
    process.stdout.write(`crash-recovery outcomes: ${outcomes.join(', ')}\n`);
    expect(outcomes).toHaveLength(trials);
  }, 600_000);
});

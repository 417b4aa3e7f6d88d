import { Hypervisor } from '@unraid/libvirt';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';

const trials = 20;
const password = 'crash test password';

/**
 * Where a trial's kill lands, and what the run must end as after the restart. A run the
 * appliance accepted and nobody asked to terminate is finished: it ends Ready (its guests are
 * played after the restart as before). A run whose terminate was asked ends Done.
 */
const crashPoints = {
  /** While POST /runs is under way: the run may not exist yet; if it does, it deploys. */
  creating: 'Ready',
  /** Right after the run was accepted, while its VMs launch. */
  provisioning: 'Ready',
  /** All VMs up, some guests still in their deploy recipes. */
  executing: 'Ready',
  /** Every guest deployed, some still reporting. */
  'sending-reports': 'Ready',
  /** Deployed. */
  ready: 'Ready',
  /** After terminate was asked, while its VMs are being removed. */
  terminating: 'Done',
} as const;
type CrashPoint = keyof typeof crashPoints;

type Reports = readonly ('Executing' | 'SendingReports')[];

/**
 * Crash recovery for real: the appliance runs as a child process on a libvirt daemon of the
 * test's own (the test driver, so domains outlive the appliance), and is killed with SIGKILL at
 * chosen points of a 3-VM deployment. After each restart the run must end as its crash point
 * says, leaving no domain and no reservation behind once terminated. The test driver runs no
 * guest code, so the test stands in for the guests: it calls the agent API with each VM's token,
 * read from the context file its domain hands the guest as fw_cfg, as a guest would.
 */
describe('crash recovery: SIGKILL at chosen points of a deployment (test driver, guests played by the test)', () => {
  let daemon: PrivateLibvirtd;
  let dataDir: string;
  let appliance: ApplianceProcess;
  /**
   * libvirt's test driver drops its domains when the last connection to it closes, which a
   * killed appliance's connections (and its `virsh event` child) may be; a real daemon keeps
   * them. The test holds a connection of its own so domains outlive the appliance, as on the box.
   */
  let holder: Hypervisor;

  const start = async () => {
    appliance = await startAppliance(dataDir, {
      BIVOUAC_LIBVIRT_URI: daemon.uri,
      BIVOUAC_ADMIN_PASSWORD: password,
    });
  };
  let api: Awaited<ReturnType<typeof adminApi>>;

  beforeAll(async () => {
    daemon = await startPrivateLibvirtd();
    holder = new Hypervisor({ uri: daemon.uri });
    await holder.connectOpen();
    dataDir = await tempDir('bivouac-crash-');
    await start();
    api = await adminApi(() => appliance.url, password);

    const files = await tempDir('bivouac-crash-image-');
    await writeFile(
      join(files, 'vmlinux'),
      Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(1024)]),
    );
    await writeFile(join(files, 'initrd'), gzipSync(Buffer.from('070701')));
    const imported = await api('POST', '/images/import', {
      kind: 'kernel',
      name: 'tiny',
      kernel: { path: join(files, 'vmlinux') },
      initrd: { path: join(files, 'initrd') },
    });
    if (imported.status !== 202) throw new Error(`image import: ${imported.status}`);
    // The import runs in the background: the runs below need it done.
    const deadline = Date.now() + 30_000;
    const tinyStatus = async () =>
      ((await api('GET', '/images')).body as unknown as { name: string; status: string }[]).find(
        (image) => image.name === 'tiny',
      )?.status;
    while ((await tinyStatus()) !== 'ready') {
      if (Date.now() > deadline) throw new Error('the tiny image is not ready after 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const native = { libvirt: { imageId: 'tiny' } };
    for (const [path, content] of [
      ['/c', { kind: 'project' }],
      ['/c/db', { kind: 'image', nativeImages: native, outputs: [{ name: 'port' }] }],
      [
        '/c/web',
        { kind: 'image', nativeImages: native, inputs: [{ name: 'db_port', type: 'string' }] },
      ],
      [
        '/c/app',
        {
          kind: 'deployment',
          nodes: [
            { name: 'db', image: '/c/db' },
            {
              name: 'web',
              image: '/c/web',
              multiplicity: 2,
              mappings: { db_port: { output: 'db:port' } },
            },
          ],
        },
      ],
    ] as const) {
      expect(
        (await api('PUT', `/modules?path=${path}`, { content, message: 'crash test' })).status,
      ).toBe(200);
    }
  }, 60_000);
  afterAll(async () => {
    await appliance?.stop();
    await holder?.connectClose();
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
        const file = /<entry name=["']opt\/bivouac\/context["'] file=["']([^"']+)["']/.exec(
          xml,
        )?.[1];
        const context = file ? await readFile(file, 'utf8').catch(() => '') : '';
        const instance = /^bivouac\.instance=(.*)$/m.exec(context)?.[1];
        const secret = /^bivouac\.token=(.*)$/m.exec(context)?.[1];
        if (instance && secret)
          tokens.set(`${await hypervisor.domainGetName(domain)} ${instance}`, secret);
      }
    } finally {
      await hypervisor.connectClose();
    }
    return tokens;
  }

  /** Plays every guest once: db publishes its port, each reports the states `reports` gives it. */
  async function playGuests(
    reports: (instance: string) => Reports = () => ['Executing', 'SendingReports'],
  ): Promise<void> {
    for (const [key, secret] of await guestTokens()) {
      const instance = key.split(' ')[1]!;
      const agent = (method: string, path: string, body: unknown) =>
        fetch(`${appliance.url}/api/v1/agent${path}`, {
          method,
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).catch(() => null);
      if (instance === 'db.1') await agent('POST', '/params/db.1:port', { value: '5432' });
      for (const state of reports(instance)) await agent('POST', '/complete', { state });
    }
  }

  async function domainNames(): Promise<string[]> {
    const hypervisor = new Hypervisor({ uri: daemon.uri });
    await hypervisor.connectOpen();
    try {
      const names = await Promise.all(
        (await hypervisor.connectListAllDomains()).map((domain) =>
          hypervisor.domainGetName(domain),
        ),
      );
      return names.filter((name) => name.startsWith('bvc-'));
    } finally {
      await hypervisor.connectClose();
    }
  }

  const stateOf = async (id: string): Promise<string> =>
    ((await api('GET', `/runs/${id}`)).body!.state as string) ?? '?';

  /** Waits until the run is in one of `states`; with `playing`, guests are played meanwhile. */
  async function waitFor(
    id: string,
    states: readonly string[],
    playing: boolean,
    timeoutMs = 30_000,
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let state = await stateOf(id);
    while (!states.includes(state) && Date.now() < deadline) {
      if (playing) await playGuests();
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = await stateOf(id);
    }
    return state;
  }

  /** Creates the run, then brings it to the crash point; answers its id (null if a kill in create left none) and its state just before the kill. */
  async function approach(
    point: CrashPoint,
    title: string,
  ): Promise<{ id: string | null; before: string }> {
    const body = { module: '/c/app', keepRunning: 'always', title };
    if (point === 'creating') {
      const answer = api('POST', '/runs', body).catch(() => null);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      await appliance.stop('SIGKILL');
      const created = (await answer) as ApiAnswer | null;
      await start();
      const found = (
        (await api('GET', `/runs?q=${encodeURIComponent(title)}`)).body!.runs as {
          id: string;
          title: string;
        }[]
      ).find((run) => run.title === title);
      // An answered create is durable: the run must be there after the kill.
      if (created?.status === 201)
        expect(found?.id, `${title}: answered 201 but lost`).toBe(created.body!.id);
      return { id: found?.id ?? null, before: 'creating' };
    }
    const created = await api('POST', '/runs', body);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body!.id as string;
    if (point === 'provisioning') {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
    } else {
      // All three VMs launched and no guest has reported: the run waits in Executing.
      expect(await waitFor(id, ['Executing'], false)).toBe('Executing');
      if (point === 'executing')
        await playGuests((instance) => (instance === 'web.2' ? [] : ['Executing']));
      if (point === 'sending-reports') await playGuests(() => ['Executing']);
      if (point === 'ready') await playGuests();
      if (point === 'terminating') {
        await playGuests();
        expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      }
    }
    const before = await stateOf(id);
    await appliance.stop('SIGKILL');
    await start();
    return { id, before };
  }

  it(`ends each run as its crash point requires after ${trials} kills, leaving nothing behind`, async () => {
    const points = Object.keys(crashPoints) as CrashPoint[];
    const befores: string[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      const point = points[trial % points.length]!;
      const title = `trial ${trial} ${point}`;
      const { id, before } = await approach(point, title);
      befores.push(before);
      if (id) {
        const expected = crashPoints[point];
        const after = await waitFor(id, [expected, 'Ready', 'Done', 'Aborted', 'Cancelled'], true);
        const run = (await api('GET', `/runs/${id}`)).body!;
        expect(
          after,
          `${title}: killed in ${before}, must end ${expected}; abort: ${JSON.stringify(run.abort)}`,
        ).toBe(expected);
        expect(run.abort, title).toBeNull();

        await api('POST', `/runs/${id}/terminate`);
        const ended = await waitFor(id, ['Done', 'Aborted', 'Cancelled'], false);
        expect(ended, `${title}: terminated after the restart`).toBe('Done');
      }
      await expect
        .poll(domainNames, { timeout: 15_000, message: `${title}: domains left` })
        .toEqual([]);
      type Capacity = { box: { vms: { used: number; reserved: number } } };
      await expect
        .poll(async () => ((await api('GET', '/capacity')).body as Capacity).box.vms, {
          timeout: 10_000,
          message: `${title}: reservation leaked`,
        })
        .toEqual(expect.objectContaining({ used: 0, reserved: 0 }));
    }
    // The kills landed in every phase a guest can be in, and while terminating.
    for (const phase of ['Executing', 'SendingReports', 'Ready'])
      expect(befores, `no kill landed in ${phase}`).toContain(phase);
    expect(
      befores.some((state) => state === 'Finalizing' || state === 'Done'),
      'no kill landed while terminating',
    ).toBe(true);
    expect(new Set(befores).size).toBeGreaterThanOrEqual(5);
  }, 900_000);

  it('deploys a run the kill left between storing it and provisioning it, and frees a reservation left without its run', async () => {
    // `create` now commits the reservation, the run and its jobs at once; earlier versions
    // stored the run (Initializing, its reservation taken) and moved it to Provisioning in a
    // second durable step, and a kill between the two left the first on disk. Such a store is
    // built here from a run that came that far, the appliance being killed meanwhile.
    const created = await api('POST', '/runs', {
      module: '/c/app',
      keepRunning: 'always',
      title: 'stored only',
    });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;
    expect(await waitFor(id, ['Ready'], true)).toBe('Ready');
    await api('POST', `/runs/${id}/terminate`);
    expect(await waitFor(id, ['Done'], false)).toBe('Done');
    // The nodes as the API shows them (the store keeps their resources by reference).
    const shown = (await api('GET', `/runs/${id}`)).body!;
    await appliance.stop('SIGKILL');

    const file = join(dataDir, 'bivouac.json');
    const document = JSON.parse(await readFile(file, 'utf8')) as {
      runs: Record<string, unknown>[];
      reservations: Record<string, unknown>[];
    };
    const template = document.runs.find((run) => run.id === id)!;
    const stamp = new Date().toISOString();
    const storedId = `stored${id.slice(6)}`;
    const reservationId = `reserve${id.slice(7)}`;
    type Node = {
      multiplicity: number;
      resources: { vcpu: number; memoryMiB: number; diskGiB: number };
    };
    const nodes = shown.nodes as Node[];
    const sum = (of: (node: Node) => number) =>
      nodes.reduce((total, node) => total + node.multiplicity * of(node), 0);
    const amounts = {
      vms: sum(() => 1),
      vcpu: sum((node) => node.resources.vcpu),
      memoryMiB: sum((node) => node.resources.memoryMiB),
      diskGiB: sum((node) => node.resources.diskGiB),
    };
    document.reservations.push({
      id: reservationId,
      owner: template.owner,
      purpose: `run:${storedId}`,
      amounts,
      inUse: { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 },
      createdAt: stamp,
    });
    // A kill one step earlier, between reserving and storing the run, leaves a reservation alone.
    document.reservations.push({
      id: `orphan${id.slice(6)}`,
      owner: template.owner,
      purpose: `run:never${id.slice(5)}`,
      amounts,
      inUse: { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 },
      createdAt: stamp,
    });
    document.runs.push({
      ...template,
      id: storedId,
      title: 'stored only, again',
      instances: (template.instances as Record<string, unknown>[]).map((instance) => ({
        ...instance,
        state: 'pending',
        vmId: null,
        tokenHash: null,
        completed: [],
        error: null,
      })),
      params: { 'run:state': 'Initializing' },
      state: 'Initializing',
      stateEnteredAt: stamp,
      abort: null,
      terminating: false,
      reservationId,
      upgrade: null,
      log: [(template.log as unknown[])[0]],
      createdAt: stamp,
      updatedAt: stamp,
    });
    await writeFile(file, JSON.stringify(document));
    await start();

    const after = await waitFor(storedId, ['Ready', 'Done', 'Aborted', 'Cancelled'], true);
    expect(after, JSON.stringify((await api('GET', `/runs/${storedId}/log`)).body)).toBe('Ready');
    await api('POST', `/runs/${storedId}/terminate`);
    expect(await waitFor(storedId, ['Done', 'Aborted', 'Cancelled'], false)).toBe('Done');
    await expect.poll(domainNames, { timeout: 15_000 }).toEqual([]);
    await expect
      .poll(
        async () => ((await api('GET', '/capacity')).body as { box: { vms: object } }).box.vms,
        { timeout: 10_000 },
      )
      .toEqual(expect.objectContaining({ used: 0, reserved: 0 }));
  }, 120_000);
});

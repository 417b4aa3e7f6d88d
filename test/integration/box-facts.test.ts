import { mkdtemp, realpath, rm, statfs } from 'node:fs/promises';
import { cpus, hostname, tmpdir, totalmem, uptime } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostFacts } from '../../appliance/src/host/facts.ts';
import { version } from '../../appliance/src/version.ts';
import {
  adminApi,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type TestAppliance,
} from '../fixtures/appliance.ts';

interface Facts {
  version: string;
  hostname: string;
  os: { distro: string; release: string; kernel: string; arch: string };
  cpu: { model: string; cores: number; physicalCores: number | null };
  memoryTotalBytes: number;
  dataDisk: { sizeBytes: number; usedBytes: number; freeBytes: number } | null;
  vmDisk: { total: number; held: number; free: number };
  disks: {
    mount: string;
    sizeBytes: number;
    usedBytes: number;
    freeBytes: number;
    holdsDataDir: boolean;
  }[];
  network: {
    name: string;
    addresses: string[];
    mac: string | null;
    up: boolean;
    internal: boolean;
  }[];
  uptimeSeconds: number;
  tlsFingerprint: string | null;
  listen: string[];
  accelerator: 'kvm' | 'tcg' | null;
  hypervisor: { uri: string; dryRun: boolean };
  checkedAt: string;
}

interface Logs {
  lines: { time: string; level: string; message: string; fields: Record<string, unknown> }[];
  capacity: number;
}

/** The disk holding `directory` must be listed, with sizes that add up. */
async function expectDataDisk(facts: Facts, directory: string): Promise<void> {
  const real = await realpath(directory);
  const disk = facts.disks.find((candidate) => candidate.holdsDataDir);
  expect(disk, 'the data dir disk is listed').toBeDefined();
  expect(
    real === disk!.mount ||
      real.startsWith(disk!.mount.endsWith('/') ? disk!.mount : `${disk!.mount}/`),
  ).toBe(true);
  expect(disk!.sizeBytes).toBeGreaterThan(0);
  expect(disk!.usedBytes).toBeLessThanOrEqual(disk!.sizeBytes);
  expect(disk!.freeBytes).toBeLessThanOrEqual(disk!.sizeBytes);
  expect(facts.disks.filter((candidate) => candidate.holdsDataDir)).toHaveLength(1);
}

describe('host facts (GET /box) on the real host', () => {
  let box: TestAppliance;
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  it('tells every signed-in user what the host is, matching what node reads, and administrators also what maps it', async () => {
    box = await makeAppliance({ tlsFingerprint: 'AB:CD' });
    box.services.facts = hostFacts({
      dataDir: box.dataDir,
      listening: () => ['http://127.0.0.1:1'],
    });
    const admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vera', password: 'viewer password', role: 'viewer' },
    });
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'operator password', role: 'operator' },
    });
    const viewer = await login(box.app, 'vera', 'viewer password');
    const operator = await login(box.app, 'olga', 'operator password');

    const answer = await box.app.inject({ method: 'GET', url: '/api/v1/box', headers: as(admin) });
    expect(answer.statusCode).toBe(200);
    const facts = answer.json<Facts>();
    expect(facts.version).toBe(version);
    expect(facts.hostname).toBe(hostname());
    expect(facts.os.kernel).not.toBe('');
    expect(facts.os.distro).not.toBe('');
    expect(facts.cpu.cores).toBe(cpus().length);
    expect(facts.cpu.model).not.toBe('');
    expect(facts.memoryTotalBytes).toBe(totalmem());
    expect(facts.memoryTotalBytes).toBeGreaterThan(0);
    await expectDataDisk(facts, box.dataDir);
    const loopback = facts.network.find((iface) => iface.internal);
    expect(loopback?.addresses).toContain('127.0.0.1/8');
    expect(loopback?.up).toBe(true);
    expect(
      facts.network
        .filter((iface) => !iface.internal)
        .every((iface) => iface.mac === null || /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(iface.mac)),
    ).toBe(true);
    expect(Math.abs(facts.uptimeSeconds - uptime())).toBeLessThan(5);
    expect(facts.tlsFingerprint).toBe('AB:CD');
    expect(facts.listen).toEqual(['http://127.0.0.1:1']);
    // The test driver runs no guest: how guests would run is not known.
    expect(facts.accelerator).toBeNull();
    expect(facts.hypervisor).toEqual({ uri: 'test:///default', dryRun: true });
    const { sizeBytes, usedBytes, freeBytes } = facts.disks.find((disk) => disk.holdsDataDir)!;
    expect(facts.dataDisk).toEqual({ sizeBytes, usedBytes, freeBytes });
    // Disk for VMs is the capacity's own figure, the one pre-flight and the Dashboard show.
    const capacity = (
      await box.app.inject({ method: 'GET', url: '/api/v1/capacity', headers: as(admin) })
    ).json<{ box: { diskGiB: { total: number; used: number; reserved: number; free: number } } }>()
      .box.diskGiB;
    expect(facts.vmDisk).toEqual({
      total: capacity.total,
      held: capacity.used + capacity.reserved,
      free: capacity.free,
    });

    // Viewers and operators get what an operator needs, nothing that maps the host.
    for (const who of [viewer, operator]) {
      const trimmed = (
        await box.app.inject({ method: 'GET', url: '/api/v1/box', headers: as(who) })
      ).json<Record<string, unknown>>();
      const {
        disks: _disks,
        network: _network,
        listen: _listen,
        hypervisor: _hypervisor,
        uptimeSeconds: _uptime,
        ...shared
      } = facts;
      expect(trimmed).toMatchObject({ ...shared, hypervisor: { dryRun: true } });
      expect(trimmed).not.toHaveProperty('disks');
      expect(trimmed).not.toHaveProperty('network');
      expect(trimmed).not.toHaveProperty('listen');
      expect(trimmed.hypervisor).toEqual({ dryRun: true });
      const text = JSON.stringify(trimmed);
      for (const secret of [
        '127.0.0.1',
        'test:///default',
        ...facts.network.flatMap((iface) => (iface.mac ? [iface.mac] : [])),
      ])
        expect(text).not.toContain(secret);
    }

    const anonymous = await box.app.inject({ method: 'GET', url: '/api/v1/box' });
    expect(anonymous.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it("marks the disk holding its own data dir when no facts source is given, not the temporary folder's", async () => {
    // /dev/shm is a file system of its own, apart from the one holding the temporary folder.
    box = await makeAppliance({ dataDir: await mkdtemp(join('/dev/shm', 'bivouac-data-')) });
    const admin = await setupAdmin(box.app);
    const facts = (
      await box.app.inject({ method: 'GET', url: '/api/v1/box', headers: as(admin) })
    ).json<Facts>();
    await expectDataDisk(facts, box.dataDir);
    const sizeOf = async (directory: string) => {
      const info = await statfs(directory);
      return info.blocks * info.bsize;
    };
    expect(await sizeOf(tmpdir()), 'the temporary folder lies on another file system').not.toBe(
      await sizeOf(box.dataDir),
    );
    expect(facts.disks.find((disk) => disk.holdsDataDir)!.sizeBytes).toBe(
      await sizeOf(box.dataDir),
    );
    expect(facts.dataDisk?.sizeBytes).toBe(await sizeOf(box.dataDir));
  });

  it('reads the host once per cache period, however many ask', async () => {
    let clock = 1_000_000;
    box = await makeAppliance();
    const source = hostFacts({ dataDir: box.dataDir, cacheMs: 10_000, now: () => clock });
    const [first, second] = await Promise.all([source.read(), source.read()]);
    expect(second.checkedAt).toBe(first.checkedAt);
    clock += 9_999;
    expect((await source.read()).checkedAt).toBe(first.checkedAt);
    clock += 1;
    expect((await source.read()).checkedAt).not.toBe(first.checkedAt);
  });
});

describe('the appliance process: its facts and its recent log lines', () => {
  const password = 'box facts admin password';
  let appliance: ApplianceProcess;
  let dataDir: string;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-box-');
    appliance = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: password });
    api = await adminApi(() => appliance.url, password);
  });
  afterAll(async () => {
    await appliance?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists where it listens, its certificate and its data disk', async () => {
    const facts = (await api('GET', '/box')).body as unknown as Facts;
    const setup = (await api('GET', '/setup')).body as { tlsFingerprint: string };
    expect(facts.listen).toEqual([appliance.url]);
    expect(facts.tlsFingerprint).toBe(setup.tlsFingerprint);
    expect(facts.tlsFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await expectDataDisk(facts, dataDir);
  });

  it('keeps the lines it wrote to stdout, newest first, filtered by level', async () => {
    const answer = await api('GET', '/box/logs?limit=1000');
    expect(answer.status).toBe(200);
    const logs = answer.body as unknown as Logs;
    expect(logs.capacity).toBe(1000);
    const messages = logs.lines.map((line) => line.message);
    expect(messages).toContain('starting');
    expect(messages).toContain('listening');
    // Newest first.
    const times = logs.lines.map((line) => Date.parse(line.time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // Every kept line is a line of stdout, with the same level, time, message and fields.
    const levels: Record<number, string> = {
      10: 'trace',
      20: 'debug',
      30: 'info',
      40: 'warn',
      50: 'error',
      60: 'fatal',
    };
    const written = appliance.logs.map(
      (line) =>
        `${levels[line.level as number]} ${new Date(line.time as number).toISOString()} ${String(line.msg)}`,
    );
    for (const line of logs.lines)
      expect(written).toContain(`${line.level} ${line.time} ${line.message}`);
    const listening = logs.lines.find((line) => line.message === 'listening')!;
    expect(listening.fields).toMatchObject({ urls: [appliance.url] });
    expect(listening.fields).not.toHaveProperty('msg');

    // The test driver is a dry run, which the appliance warns about.
    const warnings = (await api('GET', '/box/logs?level=warn')).body as unknown as Logs;
    expect(warnings.lines.map((line) => line.message)).toContain('dry-run hypervisor: no real VMs');
    expect(warnings.lines.every((line) => ['warn', 'error', 'fatal'].includes(line.level))).toBe(
      true,
    );
    expect(((await api('GET', '/box/logs?limit=1')).body as unknown as Logs).lines).toHaveLength(1);
  });

  it('refuses a bad query and anyone but an administrator', async () => {
    expect(await api('GET', '/box/logs?level=loud')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED' } },
    });
    expect(await api('GET', '/box/logs?limit=0')).toMatchObject({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED' } },
    });
    await api('POST', '/users', {
      username: 'olga',
      password: 'operator password',
      role: 'operator',
    });
    const session = await fetch(`${appliance.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'olga', password: 'operator password' }),
    });
    const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
    const refused = await fetch(`${appliance.url}/api/v1/box/logs`, { headers: { cookie } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const facts = await fetch(`${appliance.url}/api/v1/box`, { headers: { cookie } });
    expect(facts.status).toBe(200);
  });
});

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { adminApi, freePort, startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { builtServerEntry } from '../fixtures/built-appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { realQemu } from '../fixtures/real-qemu.ts';

const password = 'hypervisor admin password';

interface Started {
  url: string;
  logs: Record<string, unknown>[];
  stop(): Promise<number | null>;
}

/**
 * The appliance process with BIVOUAC_LIBVIRT_URI unset, in a mount namespace of its own where
 * libvirt's system socket folder (/run/libvirt) is `socketDir`: an empty folder (no daemon
 * answers), or a private daemon's. Nothing outside the namespace sees the change.
 */
async function startInNamespace(socketDir: string): Promise<Started> {
  const dataDir = await tempDir('bivouac-default-uri-');
  const url = `http://127.0.0.1:${await freePort()}`;
  const script = 'mount --bind "$0" /run/libvirt && exec "$@"';
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      socketDir,
      process.execPath,
      builtServerEntry,
    ],
    {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_LISTEN: url.slice('http://'.length),
        BIVOUAC_LOCAL_LISTEN: 'off',
        BIVOUAC_LIBVIRT_URI: '',
        BIVOUAC_PRIVATE_NETWORKS: 'off',
        BIVOUAC_BUILTIN_IMAGES_DIR: '/nonexistent',
        BIVOUAC_POWER_CONTROL: 'off',
        BIVOUAC_IMPORT_DIRS: tmpdir(),
        BIVOUAC_ADMIN_PASSWORD: password,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  while (!logs.some((line) => line.msg === 'listening')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the appliance did not start in its namespace: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** What the box says of its hypervisor: the log line of the choice, GET /box to an administrator, and the dry-run flag every screen reads (GET /setup). */
async function choiceOf(started: {
  url: string;
  logs: Record<string, unknown>[];
}): Promise<{ logged: Record<string, unknown> | undefined; box: unknown; session: unknown }> {
  const api = await adminApi(() => started.url, password);
  const logged = started.logs.find(
    (line) => line.msg === 'hypervisor' || line.msg === 'dry-run hypervisor: no real VMs',
  );
  return {
    logged,
    box: (await api('GET', '/box')).body?.hypervisor,
    session: (await api('GET', '/setup')).body?.dryRun,
  };
}

/**
 * The box's hypervisor when BIVOUAC_LIBVIRT_URI is unset: the appliance probes `qemu:///system`,
 * then (not as root) `qemu:///session`, and else runs dry on the test driver, saying so. These
 * tests run as root, so the session daemon is never tried.
 */
describe('the default hypervisor, end to end', () => {
  let daemon: PrivateLibvirtd | undefined;
  const stops: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await daemon?.stop();
    daemon = undefined;
  });

  it('takes qemu:///system when the system daemon answers', async () => {
    // The box's own daemon, which the global setup makes sure answers.
    expect(realQemu().uri).toBe('qemu:///system');
    const appliance = await startAppliance(await tempDir('bivouac-default-uri-'), {
      BIVOUAC_LIBVIRT_URI: '',
      BIVOUAC_PRIVATE_NETWORKS: 'off',
      BIVOUAC_ADMIN_PASSWORD: password,
    });
    stops.push(() => appliance.stop());
    const { logged, box, session } = await choiceOf(appliance);
    expect(logged).toMatchObject({
      level: 30,
      msg: 'hypervisor',
      libvirtUri: 'qemu:///system',
      reason: 'the system libvirt daemon answers',
    });
    expect(box).toEqual({ uri: 'qemu:///system', dryRun: false });
    expect(session).toBe(false);
  }, 60_000);

  it('runs dry on the test driver, saying so in the log and to every screen, when no daemon answers', async () => {
    const empty = await tempDir('bivouac-no-libvirt-');
    const appliance = await startInNamespace(empty);
    stops.push(() => appliance.stop());
    const { logged, box, session } = await choiceOf(appliance);
    expect(logged).toMatchObject({
      level: 40,
      msg: 'dry-run hypervisor: no real VMs',
      libvirtUri: 'test:///default',
      reason: 'no libvirt daemon answers',
    });
    expect(box).toEqual({ uri: 'test:///default', dryRun: true });
    expect(session).toBe(true);
    expect(await appliance.stop()).toBe(0);
  }, 60_000);

  it('does not take a daemon on the system socket that has no QEMU driver', async () => {
    // A private daemon serving only libvirt's test driver, its socket where qemu:///system looks.
    daemon = await startPrivateLibvirtd();
    const socketDir = /socket=(.*)\/libvirt-sock$/.exec(daemon.uri)![1]!;
    const appliance = await startInNamespace(socketDir);
    stops.push(() => appliance.stop());
    const { logged, box } = await choiceOf(appliance);
    expect(logged).toMatchObject({
      msg: 'dry-run hypervisor: no real VMs',
      libvirtUri: 'test:///default',
      reason: 'no libvirt daemon answers',
    });
    expect(box).toEqual({ uri: 'test:///default', dryRun: true });
    // The probe did reach that daemon, which refused it for want of QEMU.
    expect(await readFile(join(socketDir, '..', 'libvirtd.log'), 'utf8')).toContain(
      'no connection driver available for qemu:///system',
    );
  }, 60_000);
});

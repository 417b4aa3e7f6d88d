import { access, chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../appliance/src/config.ts';
import { toTypedError } from '../../appliance/src/connectors/libvirt/call.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { adminApi, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

interface CloudBody {
  id: string;
  name: string;
  config: { uri: string } | null;
  target: {
    transport: string;
    user: string | null;
    host: string | null;
    port: number | null;
    summary: string;
  } | null;
  disabled: { reason: string } | null;
  status: { reachable: boolean; lastError: string | null };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * A script that leaves a mark when run: it stands for attacker-influenced content already on the
 * box (a console log, an upload), which libvirt would run with `command=/bin/sh&keyfile=<it>`.
 */
async function proofScript(): Promise<{ script: string; mark: string }> {
  const dir = await tempDir('bivouac-uri-poc-');
  const script = join(dir, 'poc.sh');
  const mark = join(dir, 'ran');
  await writeFile(script, `echo ran >> ${mark}\n`);
  await chmod(script, 0o755);
  return { script, mark };
}

describe('cloud URIs are parsed, not passed (H2, L2, L11)', () => {
  let box: TestAppliance;
  let admin: Client;
  let olga: Client;

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 50 } });
    admin = await setupAdmin(box.app);
    for (const [username, role] of [
      ['olga', 'operator'],
      ['vera', 'viewer'],
    ]) {
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: as(admin),
        payload: { username, password: 'long enough password', role },
      });
    }
    olga = await login(box.app, 'olga', 'long enough password');
  });
  afterEach(async () => {
    await box.services.reconciler.stop();
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  const add = (uri: string, client = admin) =>
    box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(client),
      payload: { name: 'Rack', kind: 'libvirt', config: { uri, callTimeoutSeconds: 2 } },
    });
  const list = async (client: Client) =>
    (await box.app.inject({ method: 'GET', url: '/api/v1/clouds', headers: as(client) })).json<
      CloudBody[]
    >();

  it('H2: adding a cloud with ?command=/bin/sh&keyfile=<script> is refused naming command, and the script never runs', async () => {
    const { script, mark } = await proofScript();
    const answer = await add(`qemu+ssh://x/system?command=/bin/sh&keyfile=${script}`);
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: {
          fields: [
            {
              field: 'body.config.uri',
              message: expect.stringMatching(
                /^names the parameter command, .*allowed are keyfile and known_hosts \(files in .*\/keys\/\), no_tty/,
              ),
            },
          ],
        },
      },
    });
    expect(await exists(mark)).toBe(false);
    expect(box.services.store.data.clouds).toEqual([]);
  });

  it('H2: every spelling of a refused parameter, a key outside the keys folder and a way out of it are refused; nothing is stored', async () => {
    const keys = join(box.dataDir, 'keys');
    const refused: [string, RegExp][] = [
      ['qemu+ssh://x/system?Command=/bin/sh', /parameter command/],
      ['qemu+ssh://x/system?%63ommand=/bin/sh', /parameter command/],
      [`qemu+ssh://x/system?keyfile=${keys}/ok&KEYFILE=/x`, /keyfile twice/],
      ['qemu+ssh://x/system?command=/bin/sh&keyfile=/tmp/poc.sh', /parameter command/],
      ['qemu+ssh://x/system?netcat=/tmp/nc', /parameter netcat/],
      ['qemu+ssh://root@10.0.0.9/system?no_verify=1', /parameter no_verify/],
      ['qemu+ssh://x/system?socket=/run/libvirt/libvirt-sock', /socket=.*only a unix transport/],
      ['qemu+unix:///system?socket=/var/run/docker.sock', /socket=.*libvirt's own sockets/],
      ['qemu+ssh://x/system?proxy=auto', /parameter proxy/],
      ['qemu+ssh://x/system?surprise=1', /parameter surprise, which the box does not know/],
      ['qemu+ssh://x/system?keyfile=/var/lib/bivouac/.ssh/id_ed25519', /outside the keys folder/],
      [`qemu+ssh://x/system?keyfile=${keys}/../tls/key.pem`, /without "\.", "\.\."/],
      [`qemu+ssh://x/system?keyfile=${keys}/%2E%2E/tls/key.pem`, /without "\.", "\.\."/],
      [`qemu+ssh://x/system?known_hosts=${keys}/../../../etc/passwd`, /without "\.", "\.\."/],
      ['qemu+ssh://root:hunter2@x/system', /password/],
    ];
    for (const [uri, reason] of refused) {
      const answer = await add(uri);
      expect(answer.statusCode, uri).toBe(400);
      expect(answer.json<{ error: { message: string } }>().error.message, uri).toMatch(reason);
    }
    expect(box.services.store.data.clouds).toEqual([]);
    // A key inside the keys folder passes.
    await mkdir(keys, { recursive: true });
    expect(
      (await add(`qemu+ssh://root@127.0.0.1:1/system?keyfile=${keys}/rack&no_tty=1`)).statusCode,
    ).toBe(201);
  });

  it('H2: the answer says who and where a cloud connects as, to administrators only', async () => {
    const added = await add('qemu+tcp://svc@127.0.0.1:1/system');
    expect(added.statusCode).toBe(201);
    expect(added.json<CloudBody>().target).toEqual({
      transport: 'tcp',
      user: 'svc',
      host: '127.0.0.1',
      port: 1,
      summary: 'connects over tcp as svc to 127.0.0.1, port 1',
    });
    expect((await list(admin)).map((cloud) => cloud.target?.summary)).toEqual([
      "connects to this box's own test driver (default)",
      'connects over tcp as svc to 127.0.0.1, port 1',
    ]);
    expect((await list(olga)).map((cloud) => cloud.target)).toEqual([null, null]);
    const rules = await box.app.inject({
      method: 'GET',
      url: '/api/v1/clouds/rules',
      headers: as(admin),
    });
    expect(rules.json()).toEqual({ keysDir: join(box.dataDir, 'keys') });
    expect(
      (await box.app.inject({ method: 'GET', url: '/api/v1/clouds/rules', headers: as(olga) }))
        .statusCode,
    ).toBe(403);
  });

  it("H2: BIVOUAC_LIBVIRT_URI and config.json's libvirtUri pass the same rule before anything connects", async () => {
    const dataDir = await tempDir();
    await expect(
      loadConfig({
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_LIBVIRT_URI: 'qemu+ssh://x/system?%63ommand=/bin/sh',
      }),
    ).rejects.toThrow(/BIVOUAC_LIBVIRT_URI is refused: it names the parameter command/);
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ libvirtUri: 'qemu+unix:///system?socket=/var/run/docker.sock' }),
    );
    await expect(loadConfig({ BIVOUAC_DATA_DIR: dataDir })).rejects.toThrow(
      /libvirtUri in .*config\.json is refused: .*libvirt's own sockets/,
    );
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({
        libvirtUri: `qemu+ssh://root@rack/system?keyfile=${join(dataDir, 'keys', 'rack')}`,
      }),
    );
    expect((await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).libvirtUri).toMatch(/keyfile=/);
  });

  it('L2: a failure kept for run viewers names neither user@host nor the URI of the cloud', async () => {
    const cloud = (await add('qemu+tcp://svc@127.0.0.1:1/system')).json<CloudBody>();
    const said = box.services.clouds.redact(
      cloud.id,
      "The cloud qemu+tcp://svc@127.0.0.1:1/system refused start: unable to connect to server at 'svc@127.0.0.1:1'",
    );
    expect(said).toBe("The cloud Rack refused start: unable to connect to server at 'Rack:1'");
    expect(said).not.toMatch(/svc|127\.0\.0\.1/);
  });

  it("L2: a port that cannot be published is logged in the run without the cloud's URI", async () => {
    const imageId = await importPlaceholderImage(box.services, admin.userId);
    const saved = await box.app.inject({
      method: 'PUT',
      url: '/api/v1/modules?path=/web',
      headers: as(admin),
      payload: {
        content: {
          kind: 'image',
          nativeImages: { libvirt: { imageId } },
          ports: [{ name: 'http', port: 80, protocol: 'http' }],
        },
        message: 'seed',
      },
    });
    expect(saved.statusCode).toBe(200);
    // The test driver publishes nothing, so its connector is made to fail as a remote host's does.
    const connector = box.services.clouds.connector('box');
    connector.publish = async () => {
      throw toTypedError(
        new Error('Cannot recv data: ssh: connect to host rack2 port 22: Connection refused'),
        'test:///default',
        'get XML',
      );
    };
    await box.services.runs.start();
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(admin),
      payload: { module: '/web' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<
      { action: string; detail: string }[] | { entries: { action: string; detail: string }[] }
    >();
    const entries = Array.isArray(log) ? log : log.entries;
    const failed = entries.find((entry) => entry.action === 'publish failed');
    expect(failed?.detail).toMatch(/web\.1 port 80: The cloud This box is unreachable/);
    expect(failed?.detail).not.toContain('test:///default');
  });

  it('L11: only administrators test a cloud (a connection on demand), and a test that changes nothing is not kept for replay', async () => {
    const vera = await login(box.app, 'vera', 'long enough password');
    for (const client of [olga, vera]) {
      const answer = await box.app.inject({
        method: 'POST',
        url: '/api/v1/clouds/box/test',
        headers: as(client),
      });
      expect(answer.statusCode).toBe(403);
      expect(answer.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    await box.app.inject({ method: 'POST', url: '/api/v1/clouds/box/test', headers: as(admin) });
    const before = box.services.events.since(0)!.length;
    for (let i = 0; i < 5; i += 1)
      expect(
        (
          await box.app.inject({
            method: 'POST',
            url: '/api/v1/clouds/box/test',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(200);
    expect(box.services.events.since(0)!.length).toBe(before);
  });
});

describe('a disabled cloud with VMs (H2)', () => {
  it('H2: a VM on a disabled cloud is let go without contacting it, so the cloud can be removed', async () => {
    const { script, mark } = await proofScript();
    const dataDir = await tempDir('bivouac-upgraded-vms-');
    const { store } = await openStore(dataDir);
    const stamp = '2026-01-01T00:00:00.000Z';
    await store.update((document) => {
      document.clouds.push({
        id: 'oldcloud0002',
        name: 'Old rack',
        kind: 'libvirt',
        config: { uri: `qemu+ssh://x/system?command=/bin/sh&keyfile=${script}` },
        createdAt: stamp,
        createdBy: 'admin',
      });
      document.vms.push({
        id: 'oldvm0000001',
        cloudId: 'oldcloud0002',
        nativeId: 'bvc-old-web-1',
        runId: 'oldrun',
        instance: 'web.1',
        owner: 'admin',
        reservationId: null,
        imageId: null,
        state: 'running',
        ips: [],
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
        createdAt: stamp,
        updatedAt: stamp,
        goneReason: null,
      });
    });
    await store.flush();
    const box = await makeAppliance({ dataDir });
    try {
      const admin = await setupAdmin(box.app);
      const refused = await box.app.inject({
        method: 'DELETE',
        url: '/api/v1/clouds/oldcloud0002',
        headers: as(admin),
      });
      expect(refused.json()).toMatchObject({ error: { code: 'CLOUD_IN_USE' } });
      const gone = await box.services.vms
        .terminate('oldvm0000001')
        .catch((error: unknown) => error);
      expect(await exists(mark)).toBe(false);
      expect(gone).toMatchObject({ state: 'gone', goneReason: expect.stringMatching(/disabled/) });
      expect(
        (
          await box.app.inject({
            method: 'DELETE',
            url: '/api/v1/clouds/oldcloud0002',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(204);
      expect(box.services.clouds.disabledClouds()).toEqual([]);
    } finally {
      await box.services.clouds.close();
      await box.close();
    }
  });
});

describe('stored clouds are checked again at start (H2)', () => {
  let appliance: ApplianceProcess | undefined;
  afterEach(async () => {
    await appliance?.stop();
  });

  it('H2: a cloud stored by an older version with command= in its URI is disabled at start, never contacted, and shown with the reason', async () => {
    const { script, mark } = await proofScript();
    const dataDir = await tempDir('bivouac-upgraded-');
    const { store } = await openStore(dataDir);
    await store.update((document) => {
      document.clouds.push({
        id: 'oldcloud0001',
        name: 'Old rack',
        kind: 'libvirt',
        config: {
          uri: `qemu+ssh://x/system?command=/bin/sh&keyfile=${script}`,
          accelerator: 'auto',
          callTimeoutSeconds: 5,
        },
        createdAt: '2026-01-01T00:00:00.000Z',
        createdBy: 'admin',
      });
    });
    await store.flush();
    const password = 'upgrade test password';
    appliance = await startAppliance(dataDir, {
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_CLOUD_HEALTH_SECONDS: '1',
    });
    const api = await adminApi(() => appliance!.url, password);
    // The reconciler, the runs and a few rounds of health checks have had their chance.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await exists(mark)).toBe(false);

    const clouds = (await api('GET', '/clouds')).body as unknown as CloudBody[];
    const old = clouds.find((cloud) => cloud.id === 'oldcloud0001')!;
    expect(old.disabled?.reason).toMatch(/config\.uri names the parameter command/);
    expect(old.status).toMatchObject({
      reachable: false,
      lastError: expect.stringMatching(/^Disabled, never contacted/),
    });
    expect(old.target).toBeNull();
    const tested = await api('POST', '/clouds/oldcloud0001/test');
    expect(tested.status).toBe(409);
    expect(tested.body).toMatchObject({
      error: { code: 'CLOUD_DISABLED', details: { reason: expect.stringMatching(/command/) } },
    });
    expect(
      appliance.logs.some(
        (line) =>
          line.msg === 'a stored cloud is disabled and never contacted: its config is refused' &&
          line.id === 'oldcloud0001',
      ),
    ).toBe(true);
    expect(await exists(mark)).toBe(false);
    // It stays listed until an administrator removes it.
    expect((await api('DELETE', '/clouds/oldcloud0001')).status).toBe(204);
  }, 30_000);
});

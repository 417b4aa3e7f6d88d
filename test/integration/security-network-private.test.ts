import { rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createNetwork,
  removeNetwork,
} from '../../appliance/src/connectors/libvirt/private-network.ts';
import { createTable, removeTable } from '../../appliance/src/host/firewall.ts';
import { networkName } from '../../appliance/src/orchestrator/run-networks.ts';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import {
  firewallTables,
  lanAddress,
  lanClient,
  networksOnBox,
  startBoxService,
  until,
  untilTinyImageReady,
} from '../fixtures/box-network.ts';
import { realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'private network password';

/**
 * The probe's recipe: it tries what a guest must not reach, logging each refusal, and reports
 * through its own agent calls what it could and could not do, and what its db mapping gave.
 */
const probeRecipe = `
gw=$(printf %s "$BIVOUAC_URL" | sed -e 's#^[a-z]*://##' -e 's#[:/].*##')
agent_port=$(printf %s "$BIVOUAC_URL" | sed -e 's#^[a-z]*://[^:]*:##' -e 's#/.*##')
lan=$(bivouac-get "$BIVOUAC_INSTANCE:lan")
box_port=$(bivouac-get "$BIVOUAC_INSTANCE:box_port")
api_port=$(bivouac-get "$BIVOUAC_INSTANCE:api_port")
other=$(bivouac-get "$BIVOUAC_INSTANCE:other")
results=''
probe() {
  if nc -w 3 "$2" "$3" -e /bin/true >/dev/null 2>&1; then echo "probe: REACHED $1 ($2:$3)"; results="$results $1=reached"
  else echo "probe: refused $1 ($2:$3)"; results="$results $1=refused"; fi
}
probe gateway-8080 "$gw" 8080
probe gateway-8443 "$gw" 8443
probe gateway-api "$gw" "$api_port"
probe gateway-box-service "$gw" "$box_port"
probe lan-box-service "$lan" "$box_port"
probe lan-api "$lan" "$api_port"
probe other-run "\${other%%:*}" "\${other##*:}"
probe outside 1.1.1.1 80
# The status an HTTP server answers, read with nc (busybox's wget cannot be relied on in this guest).
http_status() { (printf 'GET %s HTTP/1.0\\r\\nHost: %s:%s\\r\\n\\r\\n' "$3" "$1" "$2"; sleep 2) | nc -w 4 "$1" "$2" 2>/dev/null | head -n 1 | cut -d' ' -f2; }
for path in /healthz /api/v1/session /api/v1/runs; do
  status=$(http_status "$gw" "$agent_port" "$path")
  if [ "$status" = 200 ]; then echo "probe: REACHED agent listener $path"; results="$results agent$path=reached"
  else echo "probe: refused agent listener $path ($status)"; results="$results agent$path=refused:$status"; fi
done
url=$(bivouac-get "$BIVOUAC_INSTANCE:db_url" --timeout 600)
host=\${url#*://}; host=\${host%%:*}
value=$(nc -w 5 "$host" "\${url##*:}" </dev/null | head -n 1)
echo "probe: db at $url says $value"
named=$(nslookup db "$gw" 2>/dev/null | sed -n 's/^Address[^:]*: *\\([0-9.]*\\).*/\\1/p' | grep -v "^$gw$" | tail -n 1)
echo "probe: db resolves to $named"
bivouac-set "$BIVOUAC_INSTANCE:results" "$results"
bivouac-set "$BIVOUAC_INSTANCE:db_value" "$value"
bivouac-set "$BIVOUAC_INSTANCE:db_named" "$named"
`;

/**
 * M7: a guest is confined to its own run's network. Real guests under QEMU on the box's daemon:
 * the probe tries the host's services, the box's LAN address, another run's published port and
 * an outside address, and each is refused, while its agent calls and its db mapping work.
 */
describe('private networks per run (real guests)', () => {
  const { uri, imagesDir } = realQemu();
  let dataDir: string;
  let listen: string;
  let appliance: ApplianceProcess;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
  let boxService: Server;
  let boxPort: number;
  const runIds: string[] = [];

  const start = async () => {
    appliance = await startAppliance(
      dataDir,
      {
        BIVOUAC_LIBVIRT_URI: uri,
        BIVOUAC_ADMIN_PASSWORD: password,
        BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
        BIVOUAC_LISTEN: listen,
      },
      60_000,
    );
  };

  const waitForState = async (
    id: string,
    states: string[],
    timeoutMs = 180_000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = (await api('GET', `/runs/${id}`)).body!;
      if (states.includes(run.state as string)) return run;
      if (Date.now() > deadline)
        throw new Error(
          `run ${id} is ${String(run.state)}; log: ${JSON.stringify((await api('GET', `/runs/${id}/log`)).body)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const saveModule = async (path: string, content: unknown) => {
    const saved = await api('PUT', `/modules?path=${path}`, { content, message: 'test' });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  };

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-net-');
    listen = `127.0.0.1:${await freePort()}`;
    ({ server: boxService, port: boxPort } = await startBoxService());
    await start();
    api = await adminApi(() => appliance.url, password);
    await untilTinyImageReady(api);
    await until(
      async () =>
        ((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
          (app) => app.id === 'hello-web',
        ),
      30_000,
    );
    const native = { libvirt: { imageId: 'tiny' } };
    const resources = { vcpu: 1, memoryMiB: 128, diskGiB: 1 };
    await saveModule('/m7', { kind: 'project' });
    await saveModule('/m7/db', {
      kind: 'image',
      nativeImages: native,
      resources,
      inputs: [{ name: 'value', type: 'string', default: 'private-42' }],
      outputs: [{ name: 'ready' }, { name: 'url.db' }],
      ports: [{ name: 'db', port: 5432, protocol: 'tcp' }],
      recipes: {
        deploy: `value=$(bivouac-get "$BIVOUAC_INSTANCE:value")\n( while :; do printf '%s\\n' "$value" | nc -l -p 5432; done ) >/dev/null 2>&1 &\nbivouac-set "$BIVOUAC_INSTANCE:ready" true`,
      },
    });
    await saveModule('/m7/probe', {
      kind: 'image',
      nativeImages: native,
      resources,
      inputs: [
        ...['lan', 'box_port', 'api_port', 'other'].map((name) => ({
          name,
          type: 'string',
          default: 'none',
        })),
        { name: 'db_url', type: 'string' },
      ],
      outputs: [{ name: 'results' }, { name: 'db_value' }, { name: 'db_named' }],
      recipes: { deploy: `bivouac-get db.1:ready --timeout 600 >/dev/null\n${probeRecipe}` },
    });
    await saveModule('/m7/app', {
      kind: 'deployment',
      nodes: [
        { name: 'db', image: '/m7/db' },
        { name: 'probe', image: '/m7/probe', mappings: { db_url: { output: 'db:url.db' } } },
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await appliance?.stop();
    boxService?.close();
    for (const id of runIds) removeDomains(uri, `bvc-${id.slice(0, 12)}`);
    // What a failed test leaves on the box: its runs' networks and firewall tables.
    for (const id of runIds)
      await Promise.all([removeNetwork(uri, networkName(id)), removeTable(networkName(id))]).catch(
        () => undefined,
      );
    await rm(dataDir, { recursive: true, force: true });
  });

  it('M7: a guest reaches its own agent API and its db by address and name, and nothing else: not the host, the LAN address, another run or outside', async () => {
    // Another tenant's run with a published port.
    const other = await api('POST', '/apps/hello-web/deploy', {
      parameters: { 'web:greeting': 'other tenant' },
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    const otherId = other.body!.id as string;
    runIds.push(otherId);
    expect((await waitForState(otherId, ['Ready', 'Aborted'])).state).toBe('Ready');
    const otherUrl = ((await api('GET', `/runs/${otherId}/params`)).body as Record<string, string>)[
      'run:url.service'
    ]!;
    expect(await (await fetch(otherUrl)).text()).toContain('other tenant'); // the box opens it
    // And a machine on the LAN does (DNAT from the box's address).
    const client = lanClient(`bvt${process.pid % 10000}`, lanAddress());
    try {
      expect(client.fetch(otherUrl)).toContain('other tenant');
    } finally {
      client.stop();
    }

    const created = await api('POST', '/runs', {
      module: '/m7/app',
      parameters: {
        'probe:lan': lanAddress(),
        'probe:box_port': String(boxPort),
        'probe:api_port': listen.split(':')[1],
        'probe:other': otherUrl.replace(/^http:\/\//, '').replace(/\/$/, ''),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body!.id as string;
    runIds.push(id);
    const ready = await waitForState(id, ['Ready', 'Aborted'], 240_000);
    expect(ready.state, JSON.stringify(ready.abort)).toBe('Ready');

    const params = (await api('GET', `/runs/${id}/params`)).body as Record<string, string>;
    const refused = [
      'gateway-8080',
      'gateway-8443',
      'gateway-api',
      'gateway-box-service',
      'lan-box-service',
      'lan-api',
      'other-run',
      'outside',
      'agent/healthz',
      'agent/api/v1/session',
      'agent/api/v1/runs',
    ];
    // The agent listener answers, but only 404 outside the agent API.
    expect(params['probe.1:results']!.trim().split(' ').sort()).toEqual(
      refused.map((what) => `${what}=refused${what.startsWith('agent/') ? ':404' : ''}`).sort(),
    );
    expect(ready.network).toEqual({ mode: 'private' });
    // The other run's port is published to the box's LAN address.
    expect(otherUrl).toMatch(new RegExp(`^http://${lanAddress().replace(/\./g, '\\.')}:\\d+/$`));
    // Its db mapping carries db's address on the run's network, which answers, also by name.
    const dbUrl = params['db.1:url.db']!;
    const dbAddress = /^tcp:\/\/([\d.]+):5432$/.exec(dbUrl)?.[1];
    expect(dbAddress, dbUrl).toBeTruthy();
    expect(params['probe.1:db_url']).toBe(dbUrl);
    expect(params['probe.1:db_value']).toBe('private-42');
    expect(params['probe.1:db_named']).toBe(dbAddress);
    expect(params['db.1:url.public.db']).toMatch(/^tcp:\/\/[\d.]+:\d+$/);
    // Each refusal is in the run's log (the recipe's output).
    const log = JSON.stringify((await api('GET', `/runs/${id}/log`)).body);
    for (const what of refused)
      expect(log).toContain(
        `probe: refused ${what.startsWith('agent') ? `agent listener ${what.slice(5)}` : what}`,
      );
    // Instances have real addresses (the VM list's IP column).
    const { vms } = (await api('GET', '/vms')).body as unknown as {
      vms: { runId: string; instance: string; ips: string[] }[];
    };
    expect(vms.find((vm) => vm.runId === id && vm.instance === 'db.1')?.ips).toEqual([dbAddress]);

    const name = networkName(id);
    expect(networksOnBox()).toContain(name);
    expect(firewallTables()).toContain(name);
    for (const run of [id, otherId])
      expect((await api('POST', `/runs/${run}/terminate`)).status).toBe(202);
    await waitForState(id, ['Done', 'Aborted']);
    await waitForState(otherId, ['Done', 'Aborted']);
    // A run's network is given back just after it ends (the state is announced first).
    const left = () =>
      [name, networkName(otherId)].filter(
        (network) => networksOnBox().includes(network) || firewallTables().includes(network),
      );
    await expect.poll(left, { timeout: 30_000 }).toEqual([]);
  }, 600_000);

  it("M7: an ended run's network and firewall table that a crash left behind are removed", async () => {
    const id = runIds[1]!;
    const name = networkName(id);
    // What a crash between the run's end and the removal leaves: the network and its table.
    await createNetwork(uri, { name, prefix: '10.215.254' }, []);
    await createTable({ name, gateway: '10.215.254.1', agentPort: 8090 });
    expect(networksOnBox()).toContain(name);
    await appliance.stop('SIGKILL');
    await start();
    await expect
      .poll(() => networksOnBox().includes(name) || firewallTables().includes(name), {
        timeout: 30_000,
      })
      .toBe(false);
  }, 120_000);
});

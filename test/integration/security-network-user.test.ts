import { rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { lanAddress, startBoxService, untilTinyImageReady } from '../fixtures/box-network.ts';
import { realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'private network password';

/**
 * M7 where bridges are not allowed (here: BIVOUAC_PRIVATE_NETWORKS=off): the guest is on QEMU's
 * user networking, and its agent URL is an agent-only listener on the host's loopback. (QEMU here
 * cannot keep it from the rest of the loopback: see README, Guest networking.)
 */
describe('user networking fallback (real guest)', () => {
  const { uri, imagesDir } = realQemu();
  let dataDir: string;
  let appliance: ApplianceProcess;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
  let boxService: Server;
  let boxPort: number;
  let runId = '';

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-net-user-');
    ({ server: boxService, port: boxPort } = await startBoxService());
    appliance = await startAppliance(
      dataDir,
      {
        BIVOUAC_LIBVIRT_URI: uri,
        BIVOUAC_ADMIN_PASSWORD: password,
        BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
        BIVOUAC_PRIVATE_NETWORKS: 'off',
      },
      60_000,
    );
    api = await adminApi(() => appliance.url, password);
    await untilTinyImageReady(api);
  }, 120_000);
  afterAll(async () => {
    await appliance?.stop();
    boxService?.close();
    if (runId) removeDomains(uri, `bvc-${runId.slice(0, 12)}`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("M7: on user networking a guest's agent calls work and its agent URL answers nothing but the agent API", async () => {
    const recipe = `
results=''
probe() {
  if nc -w 3 "$2" "$3" -e /bin/true >/dev/null 2>&1; then echo "probe: REACHED $1 ($2:$3)"; results="$results $1=reached"
  else echo "probe: refused $1 ($2:$3)"; results="$results $1=refused"; fi
}
probe host-api 10.0.2.2 "$(bivouac-get "$BIVOUAC_INSTANCE:api_port")"
probe host-box-service 10.0.2.2 "$(bivouac-get "$BIVOUAC_INSTANCE:box_port")"
probe lan-box-service "$(bivouac-get "$BIVOUAC_INSTANCE:lan")" "$(bivouac-get "$BIVOUAC_INSTANCE:box_port")"
probe outside 1.1.1.1 80
# The status an HTTP server answers, read with nc (busybox's wget cannot be relied on in this guest).
http_status() { (printf 'GET %s HTTP/1.0\\r\\nHost: %s:%s\\r\\n\\r\\n' "$3" "$1" "$2"; sleep 2) | nc -w 4 "$1" "$2" 2>/dev/null | head -n 1 | cut -d' ' -f2; }
# The appliance's own listener through QEMU's way to the host's loopback: refused by the appliance.
status=$(http_status 10.0.2.2 "$(bivouac-get "$BIVOUAC_INSTANCE:api_port")" /healthz)
echo "probe: the appliance's listener answered $status"; results="$results host-api-http=$status"
agent=\${BIVOUAC_URL#*://}
for path in /healthz /api/v1/session; do
  status=$(http_status "\${agent%%:*}" "\${agent##*:}" "$path")
  if [ "$status" = 200 ]; then results="$results agent$path=reached"; else echo "probe: refused agent listener $path ($status)"; results="$results agent$path=refused:$status"; fi
done
bivouac-set "$BIVOUAC_INSTANCE:results" "$results"
`;
    const saved = await api('PUT', '/modules?path=/m7u', {
      content: { kind: 'project' },
      message: 'test',
    });
    expect(saved.status).toBe(200);
    const inputs = ['lan', 'box_port', 'api_port'].map((name) => ({
      name,
      type: 'string',
      default: 'none',
    }));
    const probe = await api('PUT', '/modules?path=/m7u/probe', {
      content: {
        kind: 'image',
        nativeImages: { libvirt: { imageId: 'tiny' } },
        resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
        inputs,
        outputs: [{ name: 'results' }],
        recipes: { deploy: recipe },
      },
      message: 'test',
    });
    expect(probe.status, JSON.stringify(probe.body)).toBe(200);
    const created = await api('POST', '/runs', {
      module: '/m7u/probe',
      parameters: {
        lan: lanAddress(),
        box_port: String(boxPort),
        api_port: new URL(appliance.url).port,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    runId = created.body!.id as string;
    const deadline = Date.now() + 180_000;
    let run = created.body!;
    while (!['Ready', 'Aborted'].includes(run.state as string) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      run = (await api('GET', `/runs/${runId}`)).body!;
    }
    expect(run.state, JSON.stringify((await api('GET', `/runs/${runId}/log`)).body)).toBe('Ready');
    expect(run.network).toEqual({ mode: 'user' });
    const params = (await api('GET', `/runs/${runId}/params`)).body as Record<string, string>;
    // What it reached is in the run's log; the agent listener refused all but the agent API.
    const results = params['probe.1:results']!.trim().split(' ');
    // The agent listener answers only the agent API; the appliance's own listener refuses QEMU's connection.
    expect(results).toEqual(
      expect.arrayContaining([
        'agent/healthz=refused:404',
        'agent/api/v1/session=refused:404',
        'host-api-http=403',
      ]),
    );
    expect(results).toHaveLength(7);
    expect((await api('POST', `/runs/${runId}/terminate`)).status).toBe(202);
  }, 300_000);
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

const agentScript = fileURLToPath(
  new URL('../../appliance/src/guest/bivouac-agent', import.meta.url),
);

/**
 * The guest agent, run on this host under busybox's sh and nc (PATH holds only busybox
 * applets), against the real appliance over HTTP. The VMs are libvirt test-driver domains that
 * run nothing, so each agent gets its instance's context — the file the domain hands its guest
 * as fw_cfg — through a context file instead of /sys/firmware.
 */
describe('the guest agent under busybox (test-driver VMs; agents run on the host)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  let port: number;
  let busybox: string;
  const agents: ChildProcess[] = [];

  beforeEach(async () => {
    port = await freePort();
    box = await makeAppliance({ agentUrl: `http://127.0.0.1:${port}`, runs: { retryMs: 100 } });
    admin = await setupAdmin(box.app);
    guests = new GuestStandIn(box.app, box.services);
    busybox = await tempDir('bivouac-busybox-');
    execFileSync('busybox', ['--install', '-s', busybox]);
    const imageId = await importPlaceholderImage(box.services, admin.userId);
    const native = { libvirt: { imageId } };
    const modules: [string, object][] = [
      ['/g', { kind: 'project' }],
      [
        '/g/db',
        {
          kind: 'image',
          nativeImages: native,
          outputs: [{ name: 'port' }, { name: 'ready' }, { name: 'value' }],
          recipes: {
            deploy:
              'bivouac-set db.1:port 5432\nbivouac-set db.1:value "it\'s a \\"quoted\\" value"\nbivouac-set db.1:ready true\necho db is up',
          },
        },
      ],
      [
        '/g/web',
        {
          kind: 'image',
          nativeImages: native,
          inputs: [{ name: 'db_port', type: 'number' }],
          outputs: [{ name: 'address' }],
          recipes: {
            deploy:
              'bivouac-get db.1:ready --timeout 30 >/dev/null\nvalue=$(bivouac-get db.1:value)\nbivouac-set "$BIVOUAC_INSTANCE:address" "http://web/$(bivouac-get $BIVOUAC_INSTANCE:db_port)/$value"',
            report: 'echo reporting from $BIVOUAC_INSTANCE',
          },
        },
      ],
      [
        '/g/app',
        {
          kind: 'deployment',
          nodes: [
            { name: 'db', image: '/g/db' },
            { name: 'web', image: '/g/web', mappings: { db_port: { output: 'db:port' } } },
          ],
        },
      ],
      [
        '/g/broken',
        {
          kind: 'image',
          nativeImages: native,
          recipes: { preInstall: 'echo preparing', deploy: 'echo about to fail\nexit 3' },
        },
      ],
    ];
    for (const [path, content] of modules) {
      const saved = await box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'seed' },
      });
      if (saved.statusCode !== 200) throw new Error(saved.body);
    }
    await box.services.runs.start();
  });
  afterEach(async () => {
    for (const agent of agents.splice(0)) agent.kill('SIGKILL');
    await box.services.runs.stop();
    await guests.close();
    await box.services.clouds.close();
    await box.close();
  });

  const listen = () => box.app.listen({ host: '127.0.0.1', port });
  const run = async (id: string) =>
    (await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}`, headers: as(admin) })).json<{
      state: string;
      params: Record<string, string>;
      abort: { message: string } | null;
    }>();

  /** Starts an instance's agent with its context, under busybox only. */
  async function startAgent(runId: string, instance: string): Promise<{ output: () => string }> {
    const vm = box.services.vms
      .all()
      .find((candidate) => candidate.runId === runId && candidate.instance === instance)!;
    const home = await tempDir(`bivouac-guest-${instance}-`);
    const context = await guests.context(vm);
    await mkdir(home, { recursive: true });
    await writeFile(
      join(home, 'context'),
      Object.entries(context)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n') + '\n',
    );
    const child = spawn(join(busybox, 'sh'), [agentScript, 'run'], {
      env: {
        PATH: busybox,
        BIVOUAC_HOME: home,
        BIVOUAC_CONTEXT_FILE: join(home, 'context'),
        BIVOUAC_MAX_BACKOFF: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    agents.push(child);
    return { output: () => output };
  }

  it('runs the recipes in order and coordinates two nodes through runtime parameters to Ready', async () => {
    await listen();
    const id = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/g/app' },
      })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    const web = await startAgent(id, 'web.1'); // web first: it must wait for db
    await new Promise((resolve) => setTimeout(resolve, 300));
    await startAgent(id, 'db.1');
    await expect
      .poll(async () => (await run(id)).state, { timeout: 20_000, interval: 200 })
      .toBe('Ready');
    expect((await run(id)).params['web.1:address']).toBe('http://web/5432/it\'s a "quoted" value');
    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<{ actor: string; action: string; detail: string }[]>();
    expect(log).toContainEqual(
      expect.objectContaining({ actor: 'db.1', action: 'output', detail: '[deploy]\ndb is up' }),
    );
    expect(log).toContainEqual(
      expect.objectContaining({
        actor: 'web.1',
        action: 'output',
        detail: '[report]\nreporting from web.1',
      }),
    );
    // The agent says so once its last report is answered, which may be after the run reads Ready.
    await expect
      .poll(() => web.output(), { timeout: 10_000 })
      .toContain('ready; following scaling');
  });

  it('aborts the run when a recipe fails, naming the recipe and its exit code', async () => {
    await listen();
    const id = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/g/broken', keepRunning: 'never' },
      })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    await startAgent(id, 'broken.1');
    await expect
      .poll(async () => (await run(id)).state, { timeout: 20_000, interval: 200 })
      .toBe('Aborted');
    expect((await run(id)).abort?.message).toBe('recipe deploy exited with code 3');
    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<{ detail: string }[]>();
    expect(log.map((entry) => entry.detail)).toContain('[deploy]\nabout to fail');
  });

  it("keeps retrying while the appliance's disk is full (507 NO_SPACE: nothing was changed), and goes on once it has room", async () => {
    const id = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/g/broken', keepRunning: 'never' },
      })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    // A stand-in for the box with a full disk: it answers what the appliance answers then
    // (NO_SPACE, 507) to the agent's first three calls, then gives its port to the real one.
    let refused = 0;
    const full = createServer((_request, response) => {
      refused += 1;
      response.writeHead(507, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify({ error: { code: 'NO_SPACE', message: 'full', details: {} } }));
      if (refused === 3) full.close(() => void listen());
    });
    await new Promise<void>((resolve) => full.listen(port, '127.0.0.1', resolve));
    try {
      const agent = await startAgent(id, 'broken.1');
      await expect
        .poll(async () => (await run(id)).state, { timeout: 20_000, interval: 200 })
        .toBe('Aborted');
      expect(refused).toBe(3);
      expect(agent.output()).toContain(
        'answered 507 (starting, stopping or its disk full); retrying',
      );
      // The recipe ran once the box had room: the run ends as the recipe says, not on a refusal.
      expect((await run(id)).abort?.message).toBe('recipe deploy exited with code 3');
    } finally {
      if (full.listening) full.close();
    }
  });

  it('keeps retrying while the appliance cannot be reached', async () => {
    const id = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/g/broken', keepRunning: 'never' },
      })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    const agent = await startAgent(id, 'broken.1');
    await expect.poll(() => agent.output(), { timeout: 10_000 }).toContain('appliance unreachable');
    await listen();
    await expect
      .poll(async () => (await run(id)).state, { timeout: 20_000, interval: 200 })
      .toBe('Aborted');
    expect((await run(id)).abort?.message).toBe('recipe deploy exited with code 3');
  });
});

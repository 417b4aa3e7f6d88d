import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { domainsNamed, realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'real guests password';

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not so after ${timeoutMs} ms: ${check.toString()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Real guests end to end: the appliance as a process on the box's libvirt daemon, QEMU under
 * TCG, the tiny guest it imports at start, and the guest agent inside each VM running the
 * recipes and coordinating through runtime parameters.
 */
describe('real guests: agent, context, runtime parameters, service URLs', () => {
  const { uri, imagesDir } = realQemu();
  let dataDir: string;
  let listen: string;
  let appliance: ApplianceProcess;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
  const runIds: string[] = [];

  const start = async () => {
    appliance = await startAppliance(dataDir, {
      BIVOUAC_LIBVIRT_URI: uri,
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
      BIVOUAC_LISTEN: listen,
    });
  };

  /** Waits until the run is in one of `states`; its log is in the failure message. */
  const waitForState = async (
    id: string,
    states: string[],
    timeoutMs = 120_000,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = (await api('GET', `/runs/${id}`)).body!;
      if (states.includes(run.state as string)) return run;
      if (Date.now() > deadline) {
        const log = (await api('GET', `/runs/${id}/log`)).body;
        throw new Error(
          `run ${id} is ${String(run.state)}, not ${states.join('/')}; log: ${JSON.stringify(log)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  /** Terminates the run and checks that nothing is left: domains, VM folders, reservations. */
  const terminateAndCheckClean = async (id: string): Promise<void> => {
    expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
    await waitForState(id, ['Done', 'Aborted', 'Cancelled']);
    await expect
      .poll(() => domainsNamed(uri, `bvc-${id.slice(0, 12)}`), { timeout: 30_000 })
      .toEqual([]);
    expect(await readdir(join(dataDir, 'vms')).catch(() => [])).toEqual([]); // overlays, seeds, console logs
    const capacity = (await api('GET', '/capacity')).body as {
      box: Record<string, { used: number; reserved: number }>;
    };
    expect(capacity.box.vms).toMatchObject({ used: 0, reserved: 0 });
  };

  const saveModule = async (path: string, content: unknown) => {
    const saved = await api('PUT', `/modules?path=${path}`, { content, message: 'test' });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  };

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-real-');
    listen = `127.0.0.1:${await freePort()}`;
    await start();
    api = await adminApi(() => appliance.url, password);
    // The appliance imports the tiny guest and installs the catalog by itself after it starts.
    await until(
      async () =>
        ((await api('GET', '/images')).body as unknown as { name: string; status: string }[]).some(
          (image) => image.name === 'tiny' && image.status === 'ready',
        ),
      60_000,
    );
    await until(
      async () =>
        ((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
          (app) => app.id === 'web-db',
        ),
      30_000,
    );
    const native = { libvirt: { imageId: 'tiny' } };
    const resources = { vcpu: 1, memoryMiB: 128, diskGiB: 1 };
    await saveModule('/t', { kind: 'project' });
    await saveModule('/t/fail', {
      kind: 'image',
      nativeImages: native,
      resources,
      recipes: { deploy: 'echo about to fail\nexit 3' },
    });
    await saveModule('/t/slow', {
      kind: 'image',
      nativeImages: native,
      resources,
      outputs: [{ name: 'deploying' }],
      recipes: { deploy: 'bivouac-set "$BIVOUAC_INSTANCE:deploying" yes\nsleep 8\necho slept' },
    });
  }, 120_000);
  afterAll(async () => {
    await appliance?.stop();
    for (const id of runIds) removeDomains(uri, `bvc-${id.slice(0, 12)}`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('deploys Hello web from the store in one press after its pre-flight, and the host opens its page', async () => {
    const preflight = await api('POST', '/apps/hello-web/preflight', {});
    expect(preflight.body, JSON.stringify(preflight.body)).toMatchObject({ ok: true });
    const deployed = await api('POST', '/apps/hello-web/deploy', {
      parameters: { 'web:greeting': 'Hello <field>' },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const id = deployed.body!.id as string;
    runIds.push(id);
    const ready = await waitForState(id, ['Ready', 'Aborted']);
    expect(ready.state, JSON.stringify(ready.abort)).toBe('Ready');
    const service = ((await api('GET', `/runs/${id}/params`)).body as Record<string, string>)[
      'run:url.service'
    ]!;
    const page = await fetch(service);
    expect(await page.text()).toContain('<h1>Hello &lt;field&gt;</h1>');
    await terminateAndCheckClean(id);
  }, 180_000);

  it('deploys Web + database from the store: web waits for db, gets its address through runtime parameters, and serves a page the host opens', async () => {
    const deployed = await api('POST', '/apps/web-db/deploy', {
      parameters: { 'db:value': 'field-42' },
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const id = deployed.body!.id as string;
    runIds.push(id);
    const ready = await waitForState(id, ['Ready', 'Aborted']);
    expect(ready.state, JSON.stringify(ready.abort)).toBe('Ready');

    const params = (await api('GET', `/runs/${id}/params`)).body as Record<string, string>;
    expect(params['db.1:ready']).toBe('true');
    expect(params['db.1:url.db']).toMatch(/^tcp:\/\/[^:]+:\d+$/);
    expect(params['web.1:db_url']).toBe(params['db.1:url.db']); // the mapping pushed db's output to web's input
    const service = params['run:url.service']!;
    expect(service).toMatch(/^http:\/\/[^:]+:\d+\/$/);
    const page = await fetch(service);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<b id="value">field-42</b>');

    // The serial console is kept and served: the agent's own lines are there.
    const console = (await api('GET', `/runs/${id}/console/web.1`)).body as { text: string };
    expect(console.text).toContain('running deploy');

    await terminateAndCheckClean(id);
    await expect(fetch(service, { signal: AbortSignal.timeout(3000) })).rejects.toThrow(); // the forward went with the VM
  }, 180_000);

  it('aborts the run when a recipe exits 3, naming the recipe and the code', async () => {
    const created = await api('POST', '/runs', { module: '/t/fail' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body!.id as string;
    runIds.push(id);
    const aborted = await waitForState(id, ['Aborted', 'Ready']);
    expect(aborted.state).toBe('Aborted');
    expect((aborted.abort as { message: string }).message).toContain(
      'recipe deploy exited with code 3',
    );
    const log = JSON.stringify((await api('GET', `/runs/${id}/log`)).body);
    expect(log).toContain('about to fail'); // the recipe's output reached the run's log
    await terminateAndCheckClean(id);
  }, 180_000);

  it('finishes the deploy after a SIGKILL of the appliance while a guest is in its deploy recipe', async () => {
    const created = await api('POST', '/runs', { module: '/t/slow', keepRunning: 'always' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body!.id as string;
    runIds.push(id);
    await expect
      .poll(
        async () =>
          ((await api('GET', `/runs/${id}/params`)).body as Record<string, string>)[
            'slow.1:deploying'
          ],
        { timeout: 120_000, interval: 200 },
      )
      .toBe('yes');
    // The recipe sleeps 8 s from here: the kill lands while the run waits on it.
    expect((await api('GET', `/runs/${id}`)).body!.state).toBe('Executing');

    await appliance.stop('SIGKILL');
    await start(); // same data dir and address: the guest's agent retries until it answers again

    // The guest is real and carried on: recovery must finish the deploy, not give up on it.
    const ended = await waitForState(id, ['Ready', 'Aborted']);
    const log = async () =>
      (await api('GET', `/runs/${id}/log`)).body as unknown as {
        actor: string;
        action: string;
        detail: string;
      }[];
    expect(ended.state, JSON.stringify({ abort: ended.abort, log: await log() })).toBe('Ready');
    // What the guest reported after the restart reached the new process: the recipe's last line and
    // its completions (its last, Ready, may be answered after the run reads Ready).
    expect(
      (await log()).some(
        (entry) =>
          entry.actor === 'slow.1' && entry.action === 'output' && entry.detail.includes('slept'),
      ),
    ).toBe(true);
    await expect
      .poll(
        async () =>
          (await log())
            .filter((entry) => entry.actor === 'slow.1' && entry.action === 'completed')
            .map((entry) => entry.detail),
        { timeout: 30_000 },
      )
      .toEqual(['Executing', 'SendingReports', 'Ready']);
    await terminateAndCheckClean(id);
  }, 240_000);
});

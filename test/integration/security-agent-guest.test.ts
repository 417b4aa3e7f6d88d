import { readdir, readFile, rm, stat } from 'node:fs/promises';
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
import { realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'agent token password';

/** Every process's command line on this host, one per line. */
async function hostCommandLines(): Promise<string> {
  const lines: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const line = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (line) lines.push(line.replaceAll('\0', ' '));
  }
  return lines.join('\n');
}

/**
 * The agent token outside its VM, with a real tiny guest under QEMU: neither the host's process
 * list (QEMU's command line) nor the guest's (while a recipe waits in `bivouac-get --timeout`)
 * shows it, and what the agent writes in the guest is root's only.
 */
describe('real guest: the agent token stays inside its VM', () => {
  const { uri, imagesDir } = realQemu();
  let dataDir: string;
  let appliance: ApplianceProcess;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
  let runId: string | null = null;

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-token-');
    appliance = await startAppliance(dataDir, {
      BIVOUAC_LIBVIRT_URI: uri,
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
      BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
    });
    api = await adminApi(() => appliance.url, password);
    // The appliance imports the tiny guest by itself after it starts.
    const deadline = Date.now() + 60_000;
    while (
      !((await api('GET', '/images')).body as unknown as { name: string; status: string }[]).some(
        (image) => image.name === 'tiny' && image.status === 'ready',
      )
    ) {
      if (Date.now() > deadline) throw new Error('the tiny guest was not imported in time');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 120_000);
  afterAll(async () => {
    await appliance?.stop();
    if (runId) removeDomains(uri, `bvc-${runId.slice(0, 12)}`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('M11: while a recipe waits in bivouac-get --timeout, ps in the guest and on the host shows no token', async () => {
    const recipe = [
      'bivouac-get "$BIVOUAC_INSTANCE:never" --timeout 40 >/dev/null 2>&1 &',
      'sleep 3',
      'echo "[guest ps]"',
      'ps -ef 2>/dev/null || ps',
      'echo "[guest cmdlines]"',
      "for f in /proc/[0-9]*/cmdline; do tr '\\000' ' ' < \"$f\"; echo; done",
      'echo "[agent files]"',
      'ls -la /run/bivouac',
      'bivouac-set "$BIVOUAC_INSTANCE:waiting" yes',
      'echo "on the console: $(bivouac-get "$BIVOUAC_INSTANCE:pw")" > /dev/console',
      'sleep 25',
      'echo "done waiting"',
    ].join('\n');
    const saved = [
      await api('PUT', '/modules?path=/m', { content: { kind: 'project' }, message: 'test' }),
      await api('PUT', '/modules?path=/m/probe', {
        content: {
          kind: 'image',
          nativeImages: { libvirt: { imageId: 'tiny' } },
          resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
          inputs: [{ name: 'pw', type: 'password' }],
          outputs: [{ name: 'waiting' }],
          recipes: { deploy: recipe },
        },
        message: 'test',
      }),
    ];
    for (const answer of saved) expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const created = await api('POST', '/runs', {
      module: '/m/probe',
      parameters: { pw: 'probe-s3cret-value' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    runId = created.body!.id as string;
    const id = runId;

    const deadline = Date.now() + 240_000;
    while (
      ((await api('GET', `/runs/${id}/params`)).body as Record<string, string>)[
        'probe.1:waiting'
      ] !== 'yes'
    ) {
      if (Date.now() > deadline) {
        const run = (await api('GET', `/runs/${id}`)).body;
        const console = (await api('GET', `/runs/${id}/console/probe.1`)).body;
        throw new Error(
          `the recipe never got to wait: ${JSON.stringify({ run, log: (await api('GET', `/runs/${id}/log`)).body, console })}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The guest's bivouac-get still waits: look at the host now.
    const vmFolder = join(
      dataDir,
      'vms',
      (await readdir(join(dataDir, 'vms'))).find((name) => name.includes(id.slice(0, 12)))!,
    );
    const host = await hostCommandLines();
    // (Other tests share this host's daemon: this run's QEMU is the one looked at.)
    const qemu = host.split('\n').find((line) => line.includes(`guest=bvc-${id.slice(0, 12)}`));
    expect(qemu).not.toMatch(/bivouac\.token|bvi_/);
    expect(qemu).toContain(`name=opt/bivouac/context,file=${join(vmFolder, 'context')}`);
    const context = await readFile(join(vmFolder, 'context'), 'utf8');
    const token = /^bivouac\.token=(bvi_\S+)$/m.exec(context)![1]!;
    expect((await stat(join(vmFolder, 'context'))).mode & 0o777).toBe(0o600);
    expect(host).not.toContain(token);

    await expect
      .poll(async () => JSON.stringify((await api('GET', `/runs/${id}/log`)).body), {
        timeout: 90_000,
        interval: 1000,
      })
      .toContain('done waiting');
    const log = ((await api('GET', `/runs/${id}/log`)).body as unknown as { detail: string }[])
      .map((entry) => entry.detail)
      .join('\n');
    expect(log).toContain('[guest ps]');
    expect(log).toMatch(/bivouac-get .*never --timeout 40/); // the waiting call is in the list…
    expect(log).toMatch(/nc \S+ \d+/); // …and so is its HTTP request
    expect(log).not.toContain(token);
    expect(log).not.toMatch(/Bearer|bvi_/);
    // The agent's files: root's only.
    for (const file of ['context', 'authorization'])
      expect(log).toMatch(new RegExp(`^-rw------- .* ${file}$`, 'm'));
    // M5: a secret echoed to the console is masked when the console is read.
    const consoleText = ((await api('GET', `/runs/${id}/console/probe.1`)).body as { text: string })
      .text;
    expect(consoleText).toContain('on the console: ********');
    expect(consoleText).not.toContain('probe-s3cret-value');

    expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
  }, 400_000);
});

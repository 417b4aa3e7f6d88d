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

const password = 'real lifecycle password';

type Run = Record<string, unknown> & {
  state: string;
  upgrade: { to: string; state: string; reason: string | null } | null;
  instances: { name: string; state: string; completed: string[] }[];
};

/**
 * A run's life after its deploy on real guests: the appliance as a process on the box's libvirt
 * daemon, QEMU under TCG, the tiny guest, and the guest agent in each VM calling the agent API
 * over HTTP. The same run is scaled up and down (the other instance runs onNodeAdd and
 * onNodeRemove), upgraded (the new version's migrate recipe is told the old run, the old run is
 * terminated) and then rolled back (the newer version fails its deploy, the run stays). What
 * test/fixtures/guest-stand-in.ts plays on the test driver, done here by real guests.
 */
describe('real guests: scale, upgrade and rollback of a run', () => {
  const { uri, imagesDir } = realQemu();
  let dataDir: string;
  let appliance: ApplianceProcess;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;
  const runIds: string[] = [];

  const run = async (id: string): Promise<Run> => (await api('GET', `/runs/${id}`)).body as Run;
  const params = async (id: string): Promise<Record<string, string>> =>
    (await api('GET', `/runs/${id}/params`)).body as Record<string, string>;

  /** Waits until `check` holds of the run; its state and log are in the failure message. */
  const waitFor = async (
    id: string,
    what: string,
    check: (run: Run, params: Record<string, string>) => boolean,
    timeoutMs = 120_000,
  ): Promise<Run> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await run(id);
      if (check(current, await params(id))) return current;
      if (Date.now() > deadline) {
        const log = (await api('GET', `/runs/${id}/log`)).body;
        throw new Error(
          `run ${id} never came to ${what}: it is ${current.state}, abort ${JSON.stringify(current.abort)}; log: ${JSON.stringify(log)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const domainsOf = (id: string): string[] => domainsNamed(uri, `bvc-${id.slice(0, 12)}`);

  const saveImage = async (recipes: Record<string, string>): Promise<void> => {
    const content = {
      kind: 'image',
      nativeImages: { libvirt: { imageId: 'tiny' } },
      resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
      outputs: [{ name: 'version' }, { name: 'seen' }, { name: 'migrated' }],
      recipes,
    };
    const saved = await api('PUT', '/modules?path=/life/web', {
      content,
      message: 'lifecycle test',
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  };

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-real-life-');
    appliance = await startAppliance(dataDir, {
      BIVOUAC_LIBVIRT_URI: uri,
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
      BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
    });
    api = await adminApi(() => appliance.url, password);
    const deadline = Date.now() + 60_000;
    while (
      !((await api('GET', '/images')).body as unknown as { name: string; status: string }[]).some(
        (image) => image.name === 'tiny' && image.status === 'ready',
      )
    ) {
      if (Date.now() > deadline) throw new Error('the tiny guest was not imported in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(
      (
        await api('PUT', '/modules?path=/life', {
          content: { kind: 'project' },
          message: 'lifecycle test',
        })
      ).status,
    ).toBe(200);
    // Version 1 follows scaling; version 2 migrates; version 3 cannot deploy.
    await saveImage({
      deploy: 'bivouac-set "$BIVOUAC_INSTANCE:version" 1',
      onNodeAdd: 'bivouac-set "$BIVOUAC_INSTANCE:seen" "add $BIVOUAC_SCALE_INSTANCES"',
      onNodeRemove: 'bivouac-set "$BIVOUAC_INSTANCE:seen" "remove $BIVOUAC_SCALE_INSTANCES"',
    });
    await saveImage({
      migrate: 'bivouac-set "$BIVOUAC_INSTANCE:migrated" "$BIVOUAC_UPGRADE_FROM"',
      deploy: 'bivouac-set "$BIVOUAC_INSTANCE:version" 2',
    });
    await saveImage({ deploy: 'echo version 3 cannot deploy here\nexit 3' });
  }, 120_000);
  afterAll(async () => {
    await appliance?.stop();
    for (const id of runIds) removeDomains(uri, `bvc-${id.slice(0, 12)}`);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('scales a run up and down, upgrades it and rolls an upgrade back, then terminates leaving nothing', async () => {
    const created = await api('POST', '/runs', { module: '/life/web@1', keepRunning: 'always' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const first = created.body!.id as string;
    runIds.push(first);
    const deployed = await waitFor(
      first,
      'Ready',
      (current) => current.state === 'Ready' || current.state === 'Aborted',
    );
    expect(deployed.state, JSON.stringify(deployed.abort)).toBe('Ready');
    expect((await params(first))['web.1:version']).toBe('1');

    // Scale up: web.2 boots and deploys; web.1's agent runs onNodeAdd, told who joined.
    expect(
      (await api('POST', `/runs/${first}/scale`, { node: 'web', multiplicity: 2 })).status,
    ).toBe(202);
    await waitFor(
      first,
      'web.2 deployed and web.1 told',
      (current, values) =>
        values['web.2:version'] === '1' &&
        values['web.1:seen'] === 'add web.2' &&
        current.instances
          .find((instance) => instance.name === 'web.2')
          ?.completed.includes('Ready') === true,
    );
    expect(domainsOf(first)).toHaveLength(2);

    // Scale down: web.2's VM goes; web.1's agent runs onNodeRemove.
    expect(
      (await api('POST', `/runs/${first}/scale`, { node: 'web', multiplicity: 1 })).status,
    ).toBe(202);
    const shrunk = await waitFor(
      first,
      'web.2 removed and web.1 told',
      (current, values) =>
        values['web.1:seen'] === 'remove web.2' &&
        current.instances.find((instance) => instance.name === 'web.2')?.state === 'removed',
    );
    expect(shrunk.state).toBe('Ready');
    await expect
      .poll(() => domainsOf(first), { timeout: 30_000 })
      .toEqual([`bvc-${first.slice(0, 12)}-web-1`]);

    // Upgrade: version 2 deploys beside it, its migrate recipe told which run it replaces; then the old run ends.
    const upgrading = await api('POST', `/runs/${first}/upgrade`, { module: '/life/web@2' });
    expect(upgrading.status, JSON.stringify(upgrading.body)).toBe(202);
    const second = (upgrading.body as Run).upgrade!.to;
    runIds.push(second);
    const switched = await waitFor(
      first,
      'switched and ended',
      (current) => current.upgrade?.state === 'switched' && current.state === 'Done',
    );
    expect(switched.upgrade).toMatchObject({ to: second, state: 'switched' });
    expect((await run(second)).state).toBe('Ready');
    expect(await params(second)).toMatchObject({
      'web.1:version': '2',
      'web.1:migrated': first,
      'run:upgrade.from': first,
    });
    await expect.poll(() => domainsOf(first), { timeout: 30_000 }).toEqual([]);

    // Rollback: version 3 fails its deploy; the upgraded run stays Ready and the failed one goes.
    const failing = await api('POST', `/runs/${second}/upgrade`, { module: '/life/web@3' });
    expect(failing.status, JSON.stringify(failing.body)).toBe(202);
    const third = (failing.body as Run).upgrade!.to;
    runIds.push(third);
    const rolledBack = await waitFor(
      second,
      'rolled back',
      (current) => current.upgrade?.state === 'rolled-back',
    );
    expect(rolledBack.state).toBe('Ready');
    expect(rolledBack.upgrade!.reason).toContain('recipe deploy exited with code 3');
    await waitFor(third, 'ended', (current) =>
      ['Done', 'Aborted', 'Cancelled'].includes(current.state),
    );
    await expect.poll(() => domainsOf(third), { timeout: 30_000 }).toEqual([]);
    expect(await params(second)).toMatchObject({ 'web.1:version': '2' });
    expect(domainsOf(second)).toEqual([`bvc-${second.slice(0, 12)}-web-1`]);

    // Terminate: nothing is left of any of the three runs.
    expect((await api('POST', `/runs/${second}/terminate`)).status).toBe(202);
    await waitFor(second, 'Done', (current) => current.state === 'Done');
    for (const id of runIds)
      await expect.poll(() => domainsOf(id), { timeout: 30_000 }).toEqual([]);
    await expect.poll(async () => readdir(join(dataDir, 'vms')), { timeout: 30_000 }).toEqual([]); // overlays, seeds, console logs
    const capacity = (await api('GET', '/capacity')).body as {
      box: Record<string, { used: number; reserved: number }>;
    };
    expect(capacity.box.vms).toMatchObject({ used: 0, reserved: 0 });
  }, 300_000);
});

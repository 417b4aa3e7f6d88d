import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

interface CloudBody {
  id: string;
  name: string;
  kind: string;
  builtIn: boolean;
  status: {
    reachable: boolean;
    latencyMs: number | null;
    lastError: string | null;
    checkedAt: string | null;
  };
}

describe('clouds API (libvirt test driver)', () => {
  let box: TestAppliance;
  let admin: Client;
  let olga: Client;

  beforeEach(async () => {
    box = await makeAppliance();
    admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'operator' },
    });
    olga = await login(box.app, 'olga', 'long enough password');
  });
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  const list = async (client: Client): Promise<CloudBody[]> =>
    (await box.app.inject({ method: 'GET', url: '/api/v1/clouds', headers: as(client) })).json<
      CloudBody[]
    >();
  const add = (payload: unknown, client = admin) =>
    box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(client),
      payload: payload as object,
    });

  it("lists the box's own cloud with its live status", async () => {
    const clouds = await list(olga);
    expect(clouds).toHaveLength(1);
    expect(clouds[0]).toMatchObject({
      id: 'box',
      kind: 'libvirt',
      builtIn: true,
      status: { reachable: true, lastError: null },
    });
    expect(clouds[0]!.status.latencyMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(clouds[0]!.status.checkedAt!)).not.toBeNaN();
  });

  it("shows a cloud's config (its URI names hosts and users) to administrators only", async () => {
    const uri = 'qemu+tcp://svc@127.0.0.1:1/system';
    await add({ name: 'Rack', kind: 'libvirt', config: { uri, callTimeoutSeconds: 1 } });
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vera', password: 'long enough password', role: 'viewer' },
    });
    const vera = await login(box.app, 'vera', 'long enough password');
    const configs = async (client: Client) =>
      (await list(client)).map((cloud) => [
        cloud.name,
        (cloud as CloudBody & { config: unknown }).config,
      ]);
    expect(await configs(admin)).toEqual([
      ['This box', { uri: 'test:///default' }],
      ['Rack', expect.objectContaining({ uri })],
    ]);
    for (const client of [olga, vera]) {
      expect(await configs(client)).toEqual([
        ['This box', null],
        ['Rack', null],
      ]);
    }
  });

  it('says the test driver is a dry run', async () => {
    expect((await box.app.inject({ method: 'GET', url: '/api/v1/setup' })).json()).toMatchObject({
      dryRun: true,
    });
  });

  it('adds a reachable cloud, announces it, and removes it', async () => {
    const added = await add({
      name: 'Lab host',
      kind: 'libvirt',
      config: { uri: 'test:///default' },
    });
    expect(added.statusCode).toBe(201);
    const cloud = added.json<CloudBody>();
    expect(cloud).toMatchObject({ name: 'Lab host', builtIn: false, status: { reachable: true } });
    expect((await list(olga)).map((c) => c.name)).toEqual(['This box', 'Lab host']);
    expect((box.services.events.since(0) ?? []).map((event) => event.type)).toContain(
      'cloud.added',
    );

    const removed = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/clouds/${cloud.id}`,
      headers: as(admin),
    });
    expect(removed.statusCode).toBe(204);
    expect(await list(admin)).toHaveLength(1);
    const again = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/clouds/${cloud.id}`,
      headers: as(admin),
    });
    expect(again.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('keeps an unreachable cloud with its error, and says so when tested', async () => {
    const added = await add({
      name: 'Dead host',
      kind: 'libvirt',
      config: { uri: 'qemu+tcp://127.0.0.1:1/system', callTimeoutSeconds: 2 },
    });
    expect(added.statusCode).toBe(201);
    const cloud = added.json<CloudBody>();
    expect(cloud.status.reachable).toBe(false);
    expect(cloud.status.latencyMs).toBeNull();
    expect(cloud.status.lastError).toMatch(/127\.0\.0\.1/);

    const tested = await box.app.inject({
      method: 'POST',
      url: `/api/v1/clouds/${cloud.id}/test`,
      headers: as(admin),
    });
    expect(tested.statusCode).toBe(200);
    expect(tested.json<CloudBody>().status.reachable).toBe(false);
    // A failure kept beside a run or a VM names the cloud, not where it is.
    expect(box.services.clouds.redact(cloud.id, cloud.status.lastError!)).not.toMatch(
      /127\.0\.0\.1|qemu\+tcp/,
    );
    expect(
      box.services.clouds.redact(
        cloud.id,
        "The cloud qemu+tcp://127.0.0.1:1/system refused start: unable to connect to server at '127.0.0.1:1'",
      ),
    ).toBe("The cloud Dead host refused start: unable to connect to server at 'Dead host:1'");
  });

  it('refuses bad input with a clear error and stores nothing', async () => {
    const badUri = await add({ name: 'X', kind: 'libvirt', config: { uri: 'http://example.org' } });
    expect(badUri.statusCode).toBe(400);
    expect(badUri.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { fields: [expect.objectContaining({ field: 'body.config.uri' })] },
      },
    });
    expect(badUri.json<{ error: { message: string } }>().error.message).toMatch(
      /qemu:\/\/\/system/,
    );

    const unknownKind = await add({ name: 'X', kind: 'openstack', config: {} });
    expect(unknownKind.json()).toMatchObject({
      error: { code: 'UNKNOWN_CONNECTOR_KIND', details: { known: ['libvirt'] } },
    });

    const extra = await add({
      name: 'X',
      kind: 'libvirt',
      config: { uri: 'test:///default', password: 'x' },
    });
    expect(extra.statusCode).toBe(400);

    expect(
      await add({ name: 'This box', kind: 'libvirt', config: { uri: 'test:///default' } }),
    ).toMatchObject({ statusCode: 409 });
    expect(await list(admin)).toHaveLength(1);
    expect(box.services.store.data.clouds).toEqual([]);
  });

  it('lets only administrators add or remove clouds, and never the box itself', async () => {
    const byOperator = await add(
      { name: 'Mine', kind: 'libvirt', config: { uri: 'test:///default' } },
      olga,
    );
    expect(byOperator.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const removeBox = await box.app.inject({
      method: 'DELETE',
      url: '/api/v1/clouds/box',
      headers: as(admin),
    });
    expect(removeBox.statusCode).toBe(403);
    expect(await list(admin)).toHaveLength(1);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { listen } from '../fixtures/sse.ts';
import { LibvirtConnector } from '../../appliance/src/connectors/libvirt/libvirt-connector.ts';

interface CloudStatus {
  reachable: boolean;
  lastError: string | null;
}

/**
 * Remote clouds' health, checked in the background and announced as `cloud.status` when it
 * changes: a real appliance app on a loopback port, a remote cloud served by a private libvirtd
 * that the test stops and starts again, and a real SSE client.
 */
describe('cloud health in the background', () => {
  let box: TestAppliance | null = null;
  let daemon: PrivateLibvirtd | null = null;
  let stopHealth: (() => Promise<void>) | null = null;

  afterEach(async () => {
    vi.restoreAllMocks();
    await stopHealth?.();
    await box?.services.clouds.close();
    await box?.close();
    await daemon?.stop();
    box = null;
    daemon = null;
    stopHealth = null;
  });

  it('tells open screens when a remote host goes down, with its error, and when it is back', async () => {
    daemon = await startPrivateLibvirtd();
    box = await makeAppliance({ heartbeatSeconds: 0.1 });
    stopHealth = box.services.clouds.watchHealth({ watchedMs: 200, idleMs: 60_000 });
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(box.app.server.address() as { port: number }).port}`;
    const admin = await setupAdmin(box.app);
    const stream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.status === 200);
    // Watches every check (the real ping runs): what each one found, in the order they were made.
    const ping = vi.spyOn(LibvirtConnector.prototype, 'ping');
    const checks = () =>
      ping.mock.settledResults
        .map((result, index) => ({
          result,
          connector: ping.mock.contexts[index] as LibvirtConnector,
        }))
        .filter(
          ({ result, connector }) =>
            connector.config.uri === daemon!.uri && result.type !== 'incomplete',
        )
        .map(({ result }) =>
          result.type === 'fulfilled' ? 'up' : (result.value as Error).message,
        );

    const added = await box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(admin),
      payload: {
        name: 'Rack',
        kind: 'libvirt',
        config: { uri: daemon.uri, callTimeoutSeconds: 2 },
      },
    });
    expect(added.json()).toMatchObject({ status: { reachable: true, lastError: null } });
    const cloudId = added.json<{ id: string }>().id;
    const statuses = () =>
      stream.events
        .filter((event) => event.type === 'cloud.status' && event.subject.id === cloudId)
        .map((event) => event.data.status as CloudStatus);

    await daemon.stop();
    await stream.waitFor(() => statuses().some((status) => !status.reachable), 15_000);
    // Every screen hears of it, so the event says only that there is an error; the hypervisor's
    // own words (which name the host) are for administrators, in the list.
    const down = statuses().find((status) => !status.reachable)!;
    expect(down.lastError).toBe(
      'Rack does not answer; an administrator sees why on the Clouds page.',
    );
    const listedTo = async (client: Client) =>
      (await box!.app.inject({ method: 'GET', url: '/api/v1/clouds', headers: as(client) }))
        .json<{ id: string; config: unknown; status: CloudStatus }[]>()
        .find((cloud) => cloud.id === cloudId)!;
    expect((await listedTo(admin)).status).toMatchObject({
      reachable: false,
      lastError: expect.stringContaining(daemon.uri),
    });
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'otto', password: 'long enough password', role: 'operator' },
    });
    const otto = await login(box.app, 'otto', 'long enough password');
    expect(await listedTo(otto)).toMatchObject({
      config: null,
      status: { reachable: false, lastError: down.lastError },
    });
    // Testing opens a connection on demand: administrators only.
    const tested = (
      await box.app.inject({
        method: 'POST',
        url: `/api/v1/clouds/${cloudId}/test`,
        headers: as(otto),
      })
    ).json<{ config: unknown; status: CloudStatus }>();
    expect(tested).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(JSON.stringify(tested)).not.toContain(daemon.uri);

    // The outage lasts several checks before the host is back.
    await vi.waitFor(
      () => expect(checks().filter((check) => check !== 'up').length).toBeGreaterThanOrEqual(8),
      { timeout: 15_000, interval: 50 },
    );
    await daemon.restart();
    await stream.waitFor(() => statuses().at(-1)?.reachable === true, 30_000);
    expect(statuses().at(-1)).toMatchObject({ reachable: true, lastError: null });
    // One outage, not an event per check: announced when it began, when the hypervisor's error
    // changed (administrators reload for its words) and when it ended, never for a check that
    // found what the last one did.
    const found = checks();
    const changes = found.filter((check, index) => index > 0 && check !== found[index - 1]);
    expect(found.filter((check) => check !== 'up').length).toBeGreaterThan(changes.length);
    expect(statuses().filter((status) => !status.reachable)).toHaveLength(
      changes.filter((check) => check !== 'up').length,
    );
    expect(statuses().filter((status) => status.reachable)).toHaveLength(
      changes.filter((check) => check === 'up').length,
    );
    await stream.close();
  }, 60_000);

  it('keeps no timer while there is no remote cloud', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const setTimer = vi.spyOn(globalThis, 'setTimeout');
    const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
    // Intervals no other timer of the app uses, to tell the health check's apart.
    const options = { watchedMs: 4321, idleMs: 54_321 };
    const healthTimers = () =>
      setTimer.mock.calls.filter(
        ([, delay]) => delay === options.watchedMs || delay === options.idleMs,
      ).length;
    stopHealth = box.services.clouds.watchHealth(options);
    await box.app.inject({ method: 'GET', url: '/api/v1/clouds', headers: as(admin) });
    expect(healthTimers()).toBe(0);

    const added = await box.app.inject({
      method: 'POST',
      url: '/api/v1/clouds',
      headers: as(admin),
      payload: { name: 'Lab', kind: 'libvirt', config: { uri: 'test:///default' } },
    });
    expect(healthTimers()).toBe(1);
    const armed = setTimer.mock.results[
      setTimer.mock.calls.findIndex(([, delay]) => delay === options.idleMs)
    ]!.value as NodeJS.Timeout;

    await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/clouds/${added.json<{ id: string }>().id}`,
      headers: as(admin),
    });
    expect(clearTimer.mock.calls.map(([timer]) => timer)).toContain(armed);
    expect(healthTimers()).toBe(1);
  });
});

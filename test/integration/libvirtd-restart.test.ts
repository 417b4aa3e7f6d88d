import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmEvent } from '../../appliance/src/connectors/contract.ts';
import { LibvirtConnector } from '../../appliance/src/connectors/libvirt/libvirt-connector.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

/**
 * A libvirt daemon that goes away and comes back (an upgrade, a crash): calls fail fast with a
 * typed error while it is gone, the connection is re-opened after a backoff, and the event
 * stream is restarted and reports again. A real daemon (test driver on a private socket).
 */
describe('a restarted libvirt daemon', () => {
  let daemon: PrivateLibvirtd;
  let connector: LibvirtConnector;
  let stopWatching: (() => Promise<void>) | null = null;
  const events: VmEvent[] = [];
  const statuses: boolean[] = [];

  beforeAll(async () => {
    daemon = await startPrivateLibvirtd();
    connector = new LibvirtConnector(
      { uri: daemon.uri, accelerator: 'auto', callTimeoutSeconds: 5 },
      {
        stateDir: await tempDir(),
        minBackoffMs: 100,
        maxBackoffMs: 400,
        eventStream: { minBackoffMs: 100, maxBackoffMs: 400 },
      },
    );
  });
  afterAll(async () => {
    await stopWatching?.();
    await connector.close();
    await daemon.stop();
  });

  it('is reconnected with backoff, and its events flow again', async () => {
    stopWatching = connector.watch({
      onEvent: (event) => events.push(event),
      onStatus: (up) => statuses.push(up),
    });
    await expect.poll(() => statuses.at(-1), { timeout: 5000 }).toBe(true);
    expect(await connector.ping()).toBeGreaterThanOrEqual(0);

    await daemon.stop();
    await expect(connector.ping()).rejects.toMatchObject({ code: 'CLOUD_UNREACHABLE' });
    await expect.poll(() => statuses.at(-1), { timeout: 5000 }).toBe(false);

    await daemon.restart();
    await expect
      .poll(
        () =>
          connector.ping().then(
            () => 'up',
            () => 'down',
          ),
        { timeout: 10_000, interval: 100 },
      )
      .toBe('up');
    await expect.poll(() => statuses.at(-1), { timeout: 10_000 }).toBe(true);

    const [name] = await connector.launch([vmSpec('bvc-restart-web-1')]);
    await expect
      .poll(() => events.some((event) => event.nativeId === name && event.state === 'running'), {
        timeout: 5000,
      })
      .toBe(true);
    await connector.terminate([name!]);
  });
});

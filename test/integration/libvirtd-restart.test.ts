import { readdir, readFile } from 'node:fs/promises';
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
/** The command names of a process's children, from /proc. */
async function childCommands(pid: number): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const close = stat.lastIndexOf(')');
    if (close > 0 && Number(stat.slice(close + 2).split(' ')[1]) === pid)
      names.push(stat.slice(stat.indexOf('(') + 1, close));
  }
  return names;
}

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
    expect(events.filter((event) => event.nativeId === name).map((event) => event.event)).toEqual(
      expect.arrayContaining(['Defined Added', 'Started Booted']),
    );
    // Read from the daemon's socket in this process: no `virsh event` child runs beside it.
    expect(await childCommands(process.pid)).not.toContain('virsh');
    expect(await childCommands(process.pid)).not.toContain('setpriv');
    await connector.terminate([name!]);
  });
});

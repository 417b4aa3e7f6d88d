import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { VmEvent } from '../../appliance/src/connectors/contract.ts';
import {
  parseDomifaddr,
  remoteHost,
} from '../../appliance/src/connectors/libvirt/guest-addresses.ts';
import {
  parseVirshEvent,
  VirshEventStream,
} from '../../appliance/src/connectors/libvirt/virsh-events.ts';

describe('virsh event lines', () => {
  it('reads lifecycle events with and without a timestamp', () => {
    expect(
      parseVirshEvent(
        "2026-11-25 10:00:00.123+0000: event 'lifecycle' for domain 'bvc-a-web-1': Stopped Destroyed",
      ),
    ).toEqual({
      nativeId: 'bvc-a-web-1',
      name: 'bvc-a-web-1',
      event: 'Stopped Destroyed',
      state: 'stopped',
      time: '2026-11-25T10:00:00.123Z',
    });
    expect(
      parseVirshEvent(
        "2026-11-25 12:00:00.000+0200: event 'lifecycle' for domain 'x': Started Booted",
      ),
    ).toMatchObject({ state: 'running', time: '2026-11-25T10:00:00.000Z' });
    const now = () => new Date('2026-01-01T00:00:00Z');
    expect(
      parseVirshEvent("event 'lifecycle' for domain 'x': Undefined Removed", now),
    ).toMatchObject({ state: 'gone', time: '2026-01-01T00:00:00.000Z' });
    expect(parseVirshEvent("event 'lifecycle' for domain 'it''s': Suspended Paused")).toMatchObject(
      { name: "it''s", state: 'paused' },
    );
  });

  it('ignores other events and noise', () => {
    expect(parseVirshEvent("event 'reboot' for domain 'x'")).toBeNull();
    expect(parseVirshEvent("event 'lifecycle' for domain 'x': Exploded Badly")).toBeNull();
    expect(parseVirshEvent('error: failed to connect to the hypervisor')).toBeNull();
    expect(parseVirshEvent('')).toBeNull();
  });
});

/** A stand-in for virsh (a node one-liner): the supervisor's job is the same whatever the child. */
function standIn(script: string): string[] {
  return [process.execPath, '-e', script];
}

describe('the supervised event stream', () => {
  it('delivers events and restarts the child when it dies', async () => {
    const events: VmEvent[] = [];
    const statuses: boolean[] = [];
    const stream = new VirshEventStream({
      uri: 'qemu:///system',
      command: standIn(
        `console.log("event 'lifecycle' for domain 'a': Started Booted"); setTimeout(() => process.exit(3), 50)`,
      ),
      onEvent: (event) => events.push(event),
      onStatus: (up) => statuses.push(up),
      minBackoffMs: 20,
      maxBackoffMs: 40,
      // Each life ends long before it would count as up, however slowly node starts here.
      upAfterMs: 600_000,
    });
    stream.start();
    await expect.poll(() => events.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(3); // three lives
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses.every((up) => up === false)).toBe(true); // it never stayed up long enough
    await stream.stop();
    expect(stream.running).toBe(false);
    // A restart would spawn within the 40 ms backoff, and a child lives far longer than the
    // 5 ms between looks: over ten times the backoff, none was started.
    let hasRestarted = false;
    const looking = setInterval(() => (hasRestarted ||= stream.running), 5);
    await new Promise((resolve) => setTimeout(resolve, 400));
    clearInterval(looking);
    expect(hasRestarted).toBe(false); // no restart after stop
  });

  it('says it is up once the child keeps running, and stops it on request', async () => {
    const statuses: [boolean, string][] = [];
    const pidFile = join(await mkdtemp(join(tmpdir(), 'bivouac-virsh-')), 'pid');
    const stream = new VirshEventStream({
      uri: 'qemu:///system',
      command: standIn(
        `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`,
      ),
      onEvent: () => undefined,
      onStatus: (up, reason) => statuses.push([up, reason]),
    });
    stream.start();
    await expect.poll(() => statuses.length, { timeout: 30_000 }).toBe(1);
    expect(statuses[0]).toEqual([true, 'event stream running']);
    const pid = await vi.waitFor(
      async () =>
        Number(await readFile(pidFile, 'utf8')) || Promise.reject(new Error('no pid yet')),
      { timeout: 30_000, interval: 20 },
    );
    await stream.stop();
    expect(stream.running).toBe(false);
    // stop() resolves once the child is gone, not merely signalled.
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('reports why the child failed', async () => {
    const reasons: string[] = [];
    const stream = new VirshEventStream({
      uri: 'qemu:///system',
      command: standIn(
        'console.error("error: failed to connect to the hypervisor"); process.exit(1)',
      ),
      onEvent: () => undefined,
      onStatus: (_up, reason) => reasons.push(reason),
      minBackoffMs: 10_000,
    });
    stream.start();
    await expect.poll(() => reasons.length, { timeout: 30_000 }).toBe(1);
    expect(reasons[0]).toMatch(/failed to connect/);
    await stream.stop();
  });
});

describe('leased addresses', () => {
  it('reads virsh domifaddr output', () => {
    const output = [
      ' vnet0      52:54:00:6f:1c:2a    ipv4         192.168.122.45/24',
      ' -          -                    ipv6         fd00::5054:ff:fe6f:1c2a/64',
      '',
    ].join('\n');
    expect(parseDomifaddr(output)).toEqual(['192.168.122.45', 'fd00::5054:ff:fe6f:1c2a']);
    expect(parseDomifaddr('')).toEqual([]);
  });
});

describe('remote hosts in service URLs', () => {
  it('takes the host of a remote libvirt URI', () => {
    expect(remoteHost('qemu+ssh://root@rack2.local/system')).toBe('rack2.local');
    expect(remoteHost('qemu+tcp://10.0.0.7:16509/system')).toBe('10.0.0.7');
    expect(remoteHost('qemu:///system')).toBe('');
  });
});

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLibvirtUri, type LibvirtTarget } from '../../appliance/src/domain/libvirt-uri.ts';
import {
  encodePacket,
  localSocketOf,
  PacketReader,
  readLifecycleMessage,
} from '../../appliance/src/connectors/libvirt/socket-events.ts';

function target(uri: string): LibvirtTarget {
  const verdict = parseLibvirtUri(uri, { keysDir: null });
  if (!verdict.ok) throw new Error(verdict.refusal.message);
  return verdict.target;
}

/** XDR of ints and strings, written out by hand as the daemon would send them. */
function xdr(...values: (number | string)[]): Buffer {
  return Buffer.concat(
    values.map((value) => {
      if (typeof value === 'number') {
        const part = Buffer.alloc(4);
        part.writeInt32BE(value);
        return part;
      }
      const bytes = Buffer.from(value);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4)]);
    }),
  );
}

/** A lifecycle message body: callback id, domain (name, uuid, id), event, detail. */
function lifecycle(name: string, event: number, detail: number): Buffer {
  return Buffer.concat([xdr(1, name), Buffer.alloc(16, 7), xdr(3, event, detail)]);
}

describe("the local daemon's socket", () => {
  it("is the system daemon's read-only socket, the modular one first", async () => {
    const runDir = await mkdtemp(join(tmpdir(), 'bivouac-run-'));
    expect(localSocketOf(target('qemu:///system'), runDir)).toEqual({
      path: join(runDir, 'libvirt-sock-ro'),
      readOnly: true,
      name: 'qemu:///system',
    });
    await writeFile(join(runDir, 'virtqemud-sock-ro'), '');
    expect(localSocketOf(target('qemu:///system'), runDir)?.path).toBe(
      join(runDir, 'virtqemud-sock-ro'),
    );
  });

  it('is the one socket= names, opening the driver without the transport', () => {
    expect(localSocketOf(target('test+unix:///default?socket=/tmp/x/libvirt-sock'))).toEqual({
      path: '/tmp/x/libvirt-sock',
      readOnly: false,
      name: 'test:///default',
    });
  });

  it('is none for remote hosts and the per-user session', () => {
    expect(localSocketOf(target('qemu+ssh://root@rack2.local/system'))).toBeNull();
    expect(localSocketOf(target('qemu+tcp://10.0.0.7/system'))).toBeNull();
    expect(localSocketOf(target('qemu:///session'))).toBeNull();
  });
});

describe("libvirt's RPC packets", () => {
  it('are split from a stream however it is chunked', () => {
    const one = encodePacket({
      procedure: 318,
      type: 2,
      serial: 0,
      status: 0,
      body: lifecycle('bvc-a-web-1', 5, 1),
    });
    const two = encodePacket({ procedure: 1, type: 1, serial: 3, status: 0, body: xdr() });
    const wire = Buffer.concat([one, two]);
    const reader = new PacketReader();
    const packets = [];
    for (let at = 0; at < wire.length; at += 5)
      packets.push(...reader.push(wire.subarray(at, at + 5)));
    expect(packets.map(({ procedure, type, serial }) => [procedure, type, serial])).toEqual([
      [318, 2, 0],
      [1, 1, 3],
    ]);
    expect(readLifecycleMessage(packets[0]!.body, new Date('2026-12-07T10:00:00Z'))).toEqual({
      nativeId: 'bvc-a-web-1',
      name: 'bvc-a-web-1',
      event: 'Stopped Destroyed',
      state: 'stopped',
      time: '2026-12-07T10:00:00.000Z',
    });
  });

  it('refuse an impossible length or another program', () => {
    const tooLong = Buffer.alloc(8);
    tooLong.writeUInt32BE(64 * 1024 * 1024);
    expect(() => new PacketReader().push(tooLong)).toThrow(/67108864 bytes \(allowed: 28 to/);
    const foreign = encodePacket({ procedure: 1, type: 1, serial: 1, status: 0, body: xdr() });
    foreign.writeUInt32BE(0x6b656570, 4); // libvirt's keepalive program
    expect(() => new PacketReader().push(foreign)).toThrow(/program 0x6b656570/);
  });

  it('map each lifecycle event onto a state, and leave unknown ones out', () => {
    const state = (event: number, detail: number) =>
      readLifecycleMessage(lifecycle('x', event, detail));
    expect(state(2, 0)).toMatchObject({ event: 'Started Booted', state: 'running' });
    expect(state(1, 0)).toMatchObject({ event: 'Undefined Removed', state: 'gone' });
    expect(state(3, 0)).toMatchObject({ event: 'Suspended Paused', state: 'paused' });
    expect(state(6, 1)).toMatchObject({ event: 'Shutdown Guest', state: 'shutting-down' });
    expect(state(8, 0)).toMatchObject({ event: 'Crashed Panicked', state: 'crashed' });
    expect(state(5, 99)).toMatchObject({ event: 'Stopped', state: 'stopped' });
    expect(state(42, 0)).toBeNull();
  });

  it('refuse a message cut short', () => {
    const body = lifecycle('bvc-a-web-1', 5, 1);
    expect(() => readLifecycleMessage(body.subarray(0, 10))).toThrow(/runs past the message/);
    expect(() => readLifecycleMessage(body.subarray(0, body.length - 2))).toThrow(/ends early/);
  });
});

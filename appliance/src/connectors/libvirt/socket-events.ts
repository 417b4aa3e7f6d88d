import { existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import type { LibvirtTarget } from '../../domain/libvirt-uri.ts';
import type { VmEvent } from '../contract.ts';
import {
  SupervisedEventStream,
  lifecycleStates,
  type ConnectionCallbacks,
  type EventConnection,
  type EventStreamOptions,
} from './event-stream.ts';

/**
 * Lifecycle events read straight from the local libvirt daemon's socket, in libvirt's own RPC
 * protocol (XDR over a stream: `remote_protocol.x`), with no child process: the client says
 * which driver it opens, registers for lifecycle events on every domain and reads the messages
 * the daemon pushes. Only what that needs is spoken: authentication by none or polkit, open,
 * register, and the lifecycle message.
 */

const remoteProgram = 0x20008086;
const remoteVersion = 1;
const procedures = {
  connectOpen: 1,
  authList: 66,
  authPolkit: 70,
  registerAny: 316,
  lifecycleMessage: 318,
} as const;
const messageTypes = { call: 0, reply: 1, message: 2 } as const;
const statusError = 1;
const authTypes = { none: 0, sasl: 1, polkit: 2 } as const;
const eventLifecycle = 0;
const connectReadOnly = 1;
const headerBytes = 28;
/** Far above any event or reply this client asks for; a longer packet means a broken stream. */
const largestPacket = 1024 * 1024;

/** libvirt's lifecycle events and their details, in protocol order, named as virsh names them. */
const lifecycleEvents: readonly (readonly [string, readonly string[]])[] = [
  ['Defined', ['Added', 'Updated', 'Renamed', 'Snapshot']],
  ['Undefined', ['Removed', 'Renamed']],
  ['Started', ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Wakeup']],
  [
    'Suspended',
    ['Paused', 'Migrated', 'IOError', 'Watchdog', 'Restored', 'Snapshot', 'APIError', 'Postcopy'],
  ],
  ['Resumed', ['Unpaused', 'Migrated', 'Snapshot', 'Postcopy']],
  ['Stopped', ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot']],
  ['Shutdown', ['Finished', 'Guest', 'Host']],
  ['PMSuspended', ['Memory', 'Disk']],
  ['Crashed', ['Panicked', 'CrashLoaded']],
];

/** The daemon's socket for a URI of the box itself, and the driver URI to open on it. */
export interface LocalSocket {
  path: string;
  readOnly: boolean;
  /** The URI the daemon opens, without the transport: `qemu:///system`, `test:///default`. */
  name: string;
}

/**
 * Where a URI's daemon listens on this machine: the socket `socket=` names, or the system
 * daemon's read-only socket (the modular `virtqemud` one first, as libvirt picks). Null for a
 * remote host, and for `qemu:///session`, whose daemon libvirt itself starts on demand.
 */
export function localSocketOf(target: LibvirtTarget, runDir = '/run/libvirt'): LocalSocket | null {
  if (target.transport !== 'local' && target.transport !== 'unix') return null;
  if (target.host !== null) return null;
  const name = `${target.driver}://${target.path}`;
  const named = target.parameters.socket;
  if (named) return { path: named, readOnly: named.endsWith('-ro'), name };
  if (target.path !== '/system') return null;
  const candidates = ['virtqemud-sock-ro', 'libvirt-sock-ro'].map((file) => join(runDir, file));
  return {
    path: candidates.find((path) => existsSync(path)) ?? candidates[1]!,
    readOnly: true,
    name,
  };
}

/** A packet's header and body. */
interface Packet {
  procedure: number;
  type: number;
  serial: number;
  status: number;
  body: Buffer;
}

/** XDR encoding of the few argument shapes the calls use. */
class XdrWriter {
  private readonly parts: Buffer[] = [];

  int(value: number): this {
    const part = Buffer.alloc(4);
    part.writeInt32BE(value);
    this.parts.push(part);
    return this;
  }

  /** A `remote_string` (an optional string): present flag, length, bytes padded to 4. */
  optionalString(value: string | null): this {
    if (value === null) return this.int(0);
    const bytes = Buffer.from(value, 'utf8');
    this.int(1).int(bytes.length);
    this.parts.push(bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4));
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** XDR decoding with bounds checks: a short or malformed body throws. */
export class XdrReader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  int(): number {
    if (this.offset + 4 > this.buffer.length) throw new Error('the message ends early');
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  string(): string {
    const length = this.int();
    if (length < 0 || this.offset + length > this.buffer.length)
      throw new Error('a string runs past the message');
    const value = this.buffer.toString('utf8', this.offset, this.offset + length);
    this.offset += length + ((4 - (length % 4)) % 4);
    return value;
  }

  optionalString(): string | null {
    return this.int() === 0 ? null : this.string();
  }

  skip(bytes: number): void {
    if (this.offset + bytes > this.buffer.length) throw new Error('the message ends early');
    this.offset += bytes;
  }
}

/** One packet on the wire: its length (itself included), the header, the body. */
export function encodePacket(packet: Packet): Buffer {
  const header = Buffer.alloc(headerBytes);
  header.writeUInt32BE(headerBytes + packet.body.length, 0);
  header.writeUInt32BE(remoteProgram, 4);
  header.writeUInt32BE(remoteVersion, 8);
  header.writeInt32BE(packet.procedure, 12);
  header.writeInt32BE(packet.type, 16);
  header.writeUInt32BE(packet.serial, 20);
  header.writeInt32BE(packet.status, 24);
  return Buffer.concat([header, packet.body]);
}

/**
 * Splits a byte stream into packets. Throws on a packet of an impossible length or of another
 * program, since nothing after it can be trusted.
 */
export class PacketReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Packet[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const packets: Packet[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readUInt32BE(0);
      if (length < headerBytes || length > largestPacket)
        throw new Error(
          `a packet of ${length} bytes (allowed: ${headerBytes} to ${largestPacket})`,
        );
      if (this.pending.length < length) break;
      const program = this.pending.readUInt32BE(4);
      if (program !== remoteProgram)
        throw new Error(`a packet of program 0x${program.toString(16)}, not libvirt's remote one`);
      packets.push({
        procedure: this.pending.readInt32BE(12),
        type: this.pending.readInt32BE(16),
        serial: this.pending.readUInt32BE(20),
        status: this.pending.readInt32BE(24),
        body: this.pending.subarray(headerBytes, length),
      });
      this.pending = this.pending.subarray(length);
    }
    return packets;
  }
}

/**
 * A `remote_domain_event_callback_lifecycle_msg` as a VmEvent: callback id, then the domain
 * (name, 16-byte uuid, id), the event and its detail. Null for an event this box does not map.
 */
export function readLifecycleMessage(body: Buffer, now = new Date()): VmEvent | null {
  const reader = new XdrReader(body);
  reader.int(); // the callback id: one registration per connection
  const name = reader.string();
  reader.skip(16 + 4); // uuid, id
  const [event, details] = lifecycleEvents[reader.int()] ?? [];
  const detail = details?.[reader.int()];
  const state = event ? lifecycleStates[event] : undefined;
  if (!event || !state || !name) return null;
  return {
    nativeId: name,
    name,
    event: detail ? `${event} ${detail}` : event,
    state,
    time: now.toISOString(),
  };
}

/** The message of a `remote_error` body: code, domain, then the optional message. */
function errorMessage(body: Buffer): string {
  try {
    const reader = new XdrReader(body);
    reader.skip(8);
    return reader.optionalString() ?? 'an error without a message';
  } catch {
    return 'an unreadable error';
  }
}

export interface SocketEventStreamOptions extends EventStreamOptions {
  /** Resolved on each connection, so a daemon started later is found. */
  socket: () => LocalSocket;
}

/** Lifecycle events from the local daemon's socket, reconnected with backoff when it goes. */
export class SocketEventStream extends SupervisedEventStream {
  constructor(private readonly options: SocketEventStreamOptions) {
    super(options);
  }

  protected connect(callbacks: ConnectionCallbacks): EventConnection {
    const target = this.options.socket();
    const socket: Socket = createConnection(target.path);
    const reader = new PacketReader();
    const waiting = new Map<number, (packet: Packet | null) => void>();
    let serial = 0;
    let failure = '';
    const fail = (reason: string) => {
      failure ||= reason;
      socket.destroy();
    };
    const call = (procedure: number, body: Buffer = Buffer.alloc(0)): Promise<XdrReader> => {
      serial += 1;
      const sent = serial;
      socket.write(
        encodePacket({ procedure, type: messageTypes.call, serial: sent, status: 0, body }),
      );
      return new Promise((resolve, reject) => {
        waiting.set(sent, (packet) => {
          if (!packet) reject(new Error('the connection closed'));
          else if (packet.status === statusError) reject(new Error(errorMessage(packet.body)));
          else resolve(new XdrReader(packet.body));
        });
      });
    };

    socket.on('data', (chunk: Buffer) => {
      let packets: Packet[];
      try {
        packets = reader.push(chunk);
      } catch (error) {
        return fail(`the daemon sent ${(error as Error).message}`);
      }
      for (const packet of packets) {
        if (packet.type === messageTypes.reply) {
          const answer = waiting.get(packet.serial);
          waiting.delete(packet.serial);
          answer?.(packet);
        } else if (
          packet.type === messageTypes.message &&
          packet.procedure === procedures.lifecycleMessage
        ) {
          try {
            const event = readLifecycleMessage(packet.body);
            if (event) callbacks.event(event);
          } catch (error) {
            return fail(`the daemon sent a lifecycle event that ${(error as Error).message}`);
          }
        }
      }
    });
    socket.on('error', (error) => {
      failure ||= `cannot reach libvirt at ${target.path}: ${error.message}`;
    });
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        for (const answer of waiting.values()) answer(null);
        waiting.clear();
        resolve();
        callbacks.down(failure || `libvirt closed the event connection at ${target.path}`);
      }),
    );

    socket.once('connect', () => {
      void (async () => {
        const auth = await call(procedures.authList);
        const count = auth.int();
        const offered = Array.from({ length: Math.min(count, 20) }, () => auth.int());
        if (!offered.includes(authTypes.none)) {
          if (!offered.includes(authTypes.polkit))
            throw new Error(
              `the daemon asks for authentication this box does not speak (types ${offered.join(', ')}; allowed: none, polkit)`,
            );
          if ((await call(procedures.authPolkit)).int() !== 1)
            throw new Error('polkit did not complete the authentication');
        }
        await call(
          procedures.connectOpen,
          new XdrWriter()
            .optionalString(target.name)
            .int(target.readOnly ? connectReadOnly : 0)
            .bytes(),
        );
        // Every domain's lifecycle events: the event, then no domain (a null pointer).
        await call(procedures.registerAny, new XdrWriter().int(eventLifecycle).int(0).bytes());
        callbacks.up('event stream running');
      })().catch((error: Error) => fail(`libvirt refused the event stream: ${error.message}`));
    });

    return {
      async stop() {
        socket.destroy();
        await closed;
      },
    };
  }
}

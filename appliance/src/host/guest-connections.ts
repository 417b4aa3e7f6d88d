import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * Telling a guest's connection from the box's own. A guest on QEMU's user networking reaches the
 * host through QEMU itself (10.0.2.2 is the host's 127.0.0.1 to it), so its connections arrive
 * from 127.0.0.1 or the box's own address, exactly like the box's screen. The kernel still knows
 * who opened the connecting socket: `/proc/net/tcp` lists it, by its address and port, with its
 * owner's uid. Where QEMU runs as its own user (libvirt-qemu), a connection whose other end that
 * user owns is a guest's.
 */

/** `127.0.0.1` and `1234` as `/proc/net/tcp` writes them: `0100007F:04D2`. */
function procAddress(address: string, port: number): string | null {
  const parts = address.replace(/^::ffff:/, '').split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map(Number);
  if (bytes.some((byte) => !Number.isInteger(byte) || byte < 0 || byte > 255)) return null;
  const hex = (value: number, width: number) =>
    value.toString(16).toUpperCase().padStart(width, '0');
  return `${bytes
    .reverse()
    .map((byte) => hex(byte, 2))
    .join('')}:${hex(port, 4)}`;
}

/**
 * The uid owning the local socket at `peer` that is connected to `local`, from the text of
 * `/proc/net/tcp`; null when no socket of this host is that peer (the client is elsewhere).
 */
export function peerOwner(
  procNetTcp: string,
  peer: { address: string; port: number },
  local: { address: string; port: number },
): number | null {
  const from = procAddress(peer.address, peer.port);
  const to = procAddress(local.address, local.port);
  if (!from || !to) return null;
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === from && fields[2] === to) return Number(fields[7]);
  }
  return null;
}

/** The uid QEMU runs as, from libvirt's qemu.conf (`user = "…"`); null when it is root or unknown. */
export async function qemuUserId(
  qemuConf = '/etc/libvirt/qemu.conf',
  passwd = '/etc/passwd',
): Promise<number | null> {
  const conf = await readFile(qemuConf, 'utf8').catch(() => null);
  if (conf === null) return null;
  const users = [...conf.matchAll(/^\s*user\s*=\s*"([^"]+)"/gm)].map((match) => match[1]!);
  // Debian's libvirt runs QEMU as libvirt-qemu unless qemu.conf says otherwise; the last line wins.
  const user = users.at(-1) ?? 'libvirt-qemu';
  const entries = (await readFile(passwd, 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => line.split(':'));
  const uid = /^\+?\d+$/.test(user)
    ? Number(user)
    : Number(entries.find((entry) => entry[0] === user)?.[2] ?? NaN);
  return Number.isInteger(uid) && uid !== 0 && uid !== process.getuid?.() ? uid : null;
}

/**
 * Whether `socket`'s other end is a socket of `guestUid` on this host (a guest, through QEMU).
 * IPv4 only: QEMU's user networking reaches the host over IPv4.
 */
export async function isGuestSocket(socket: Socket, guestUid: number): Promise<boolean> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort) return false;
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  return (
    peerOwner(
      table,
      { address: remoteAddress, port: remotePort },
      { address: localAddress, port: localPort },
    ) === guestUid
  );
}

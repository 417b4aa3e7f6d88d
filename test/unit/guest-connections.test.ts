import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerOwner, qemuUserId } from '../../appliance/src/host/guest-connections.ts';

// Lines as the kernel writes them: a listener on 127.0.0.1:8080, a connection to it from port
// 40000 owned by uid 64055 (QEMU), and the appliance's end of it (uid 0).
const table = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0',
  '   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 64055        0 1002 1 0000000000000000 20 4 30 10 -1',
  '   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 20 4 30 10 -1',
].join('\n');

describe("telling a guest's connection from the box's own", () => {
  it("M7-fallback: finds the owner of a connection's other end in /proc/net/tcp, and nothing for a peer elsewhere", () => {
    expect(
      peerOwner(table, { address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 8080 }),
    ).toBe(64055);
    expect(
      peerOwner(
        table,
        { address: '::ffff:127.0.0.1', port: 40000 },
        { address: '::ffff:127.0.0.1', port: 8080 },
      ),
    ).toBe(64055);
    expect(
      peerOwner(table, { address: '127.0.0.1', port: 8080 }, { address: '127.0.0.1', port: 40000 }),
    ).toBe(0);
    expect(
      peerOwner(table, { address: '10.0.0.9', port: 40000 }, { address: '127.0.0.1', port: 8080 }),
    ).toBeNull();
    expect(
      peerOwner(table, { address: '::1', port: 40000 }, { address: '::1', port: 8080 }),
    ).toBeNull();
  });

  it("M7-fallback: QEMU's user comes from qemu.conf (the last line wins); root, or no such user, means no check", async () => {
    const folder = await mkdtemp(join(tmpdir(), 'bivouac-qemu-conf-'));
    const passwd = join(folder, 'passwd');
    await writeFile(
      passwd,
      'root:x:0:0::/root:/bin/sh\nlibvirt-qemu:x:64055:108::/nonexistent:/usr/sbin/nologin\n',
    );
    const conf = async (text: string) => {
      const path = join(folder, `qemu-${Math.random()}.conf`);
      await writeFile(path, text);
      return qemuUserId(path, passwd);
    };
    expect(await conf('#user = "root"\n')).toBe(64055); // Debian's default
    expect(await conf('user = "root"\n# bivouac\nuser = "libvirt-qemu"\n')).toBe(64055);
    expect(await conf('user = "libvirt-qemu"\nuser = "root"\n')).toBeNull();
    expect(await conf('user = "nosuchuser"\n')).toBeNull();
    expect(await qemuUserId(join(folder, 'missing.conf'), passwd)).toBeNull();
  });
});

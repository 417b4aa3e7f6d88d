import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BivouacError } from '../../errors.ts';
import { freeHostPort } from '../../host/free-port.ts';

const run = promisify(execFile);

/**
 * Addresses a libvirt network's DHCP server leased to the VM (the binding has no call for
 * this, so virsh asks). User-mode networking has no lease: the guest agent reports its own.
 */
export async function leasedAddresses(
  uri: string,
  name: string,
  timeoutMs: number,
): Promise<string[]> {
  try {
    const { stdout } = await run(
      'virsh',
      ['-q', '-c', uri, 'domifaddr', name, '--source', 'lease'],
      { timeout: Math.min(timeoutMs, 10_000) },
    );
    return parseDomifaddr(stdout);
  } catch {
    return []; // no lease yet, or virsh missing: no address to show, not an error
  }
}

/**
 * Forwards a host port to `guestPort` of a VM on user networking: a forward added to the running
 * QEMU (it goes away with it). On this machine a free port is found first; on a remote host,
 * random ports are tried.
 */
export async function forwardGuestPort(
  uri: string,
  nativeId: string,
  guestPort: number,
  timeoutMs: number,
): Promise<{ host: string; port: number }> {
  const local = /^qemu(\+unix)?:\/\/\//.test(uri);
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    const hostPort = local ? await freeHostPort() : 30000 + Math.floor(Math.random() * 10000);
    const { stdout } = await run(
      'virsh',
      [
        '-c',
        uri,
        'qemu-monitor-command',
        nativeId,
        '--hmp',
        `hostfwd_add hostnet0 tcp:0.0.0.0:${hostPort}-:${guestPort}`,
      ],
      {
        timeout: Math.min(timeoutMs, 10_000),
      },
    ).catch((error: { stderr?: string; message?: string }) => {
      throw new BivouacError(
        'CLOUD_REFUSED',
        `Cannot forward port ${guestPort} of ${nativeId}: ${error.stderr || error.message}`,
        { cloud: uri, reason: error.stderr ?? null },
      );
    });
    if (!/could not|error/i.test(stdout))
      return { host: local ? '' : remoteHost(uri), port: hostPort };
  }
  throw new BivouacError(
    'CLOUD_REFUSED',
    `Cannot forward port ${guestPort} of ${nativeId}: no free host port after 5 tries.`,
    { cloud: uri, reason: 'no free port' },
  );
}

/** The host of a remote URI (`qemu+ssh://root@rack2/system` → `rack2`), or '' for this machine. */
export function remoteHost(uri: string): string {
  const match = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/:?]*)/.exec(uri);
  return match?.[1] ?? '';
}

/** Addresses from `virsh domifaddr` output: `vnet0  52:54:00:…  ipv4  192.168.122.45/24`. */
export function parseDomifaddr(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /\s(ipv4|ipv6)\s+([0-9A-Fa-f.:]+)\/\d+\s*$/.exec(line)?.[2])
    .filter((address): address is string => address !== undefined);
}

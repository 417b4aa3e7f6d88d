import { LibvirtConnector } from './libvirt-connector.ts';

export interface UriChoice {
  uri: string;
  /** libvirt's test driver: nothing real is launched. */
  dryRun: boolean;
  /** Why this URI, for the logs. */
  reason: string;
}

/** Can a libvirt client talk to `uri` within a few seconds? */
export async function answers(uri: string): Promise<boolean> {
  const connector = new LibvirtConnector(
    { uri, accelerator: 'auto', callTimeoutSeconds: 3 },
    { stateDir: '/nonexistent' },
  );
  try {
    await connector.ping();
    return true;
  } catch {
    return false;
  } finally {
    await connector.close();
  }
}

/**
 * The box's hypervisor when none is configured (DESIGN.md): `qemu:///system` if its daemon
 * answers, else `qemu:///session` for an ordinary user (the client starts its own daemon), else
 * libvirt's test driver — a dry run, which the caller must say loudly.
 */
export async function pickLibvirtUri(
  configured: string | null,
  probe: (uri: string) => Promise<boolean> = answers,
  isRoot: boolean = process.getuid?.() === 0,
): Promise<UriChoice> {
  if (configured) return { uri: configured, dryRun: isDryRunUri(configured), reason: 'configured' };
  if (await probe('qemu:///system'))
    return { uri: 'qemu:///system', dryRun: false, reason: 'the system libvirt daemon answers' };
  if (!isRoot && (await probe('qemu:///session'))) {
    return {
      uri: 'qemu:///session',
      dryRun: false,
      reason: 'no system daemon; using the per-user session daemon',
    };
  }
  return { uri: 'test:///default', dryRun: true, reason: 'no libvirt daemon answers' };
}

export function isDryRunUri(uri: string): boolean {
  return uri.startsWith('test');
}

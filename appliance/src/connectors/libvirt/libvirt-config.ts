import { z } from 'zod';
import { parseLibvirtUri, type LibvirtTarget } from '../../domain/libvirt-uri.ts';
import { BivouacError } from '../../errors.ts';
import type { ConnectorManifest } from '../contract.ts';

/**
 * A libvirt cloud's config; its URI is parsed by the rule in domain/libvirt-uri.ts, where
 * `keyfile` and `known_hosts` must name files in `keysDir` (the data dir's `keys/`).
 */
export function libvirtConfigSchema(keysDir: string | null) {
  return z.strictObject({
    uri: z.string().superRefine((uri, context) => {
      const verdict = parseLibvirtUri(uri, { keysDir });
      if (!verdict.ok) context.addIssue({ code: 'custom', message: verdict.refusal.message });
    }),
    accelerator: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
    callTimeoutSeconds: z.number().min(1).max(600).default(30),
  });
}
/** The config without a keys folder (no `keyfile` allowed), for callers that have no data dir. */
export const libvirtConfig = libvirtConfigSchema(null);
export type LibvirtConfig = z.infer<typeof libvirtConfig>;

/** The kind's manifest, its config checked against `keysDir`. */
export const libvirtManifestFor = (keysDir: string | null): ConnectorManifest<LibvirtConfig> => ({
  kind: 'libvirt',
  version: '1.0.0',
  capabilities: ['launch', 'terminate', 'describe', 'list', 'watch'],
  configSchema: libvirtConfigSchema(keysDir),
  description:
    'A libvirt/QEMU host: the box itself, another host over TCP, SSH or TLS, or the test driver for dry runs.',
});
export const libvirtManifest = libvirtManifestFor(null);

export interface LibvirtDependencies {
  /** Where overlays, seeds and console logs of this cloud's VMs live, one folder per VM. */
  stateDir: string;
  /** The folder `keyfile=` and `known_hosts=` may name files in; none: neither is allowed. */
  keysDir?: string | null;
  /** Overrides for the event stream (tests): its restart backoff. */
  eventStream?: { minBackoffMs?: number; maxBackoffMs?: number };
  /** Reconnection backoff bounds. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Where `uri` connects, or CLOUD_URI_REFUSED: every libvirt connection, virsh call and event
 * stream goes through a connector, and a connector is made only for a URI that passed.
 */
export function checkedTarget(uri: string, keysDir: string | null): LibvirtTarget {
  const verdict = parseLibvirtUri(uri, { keysDir });
  if (verdict.ok) return verdict.target;
  const { part, parameter, message } = verdict.refusal;
  throw new BivouacError('CLOUD_URI_REFUSED', `The libvirt URI ${message}.`, {
    part,
    parameter,
    fields: [{ field: 'uri', message }],
  });
}

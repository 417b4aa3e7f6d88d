import { z } from 'zod';
import { Id } from './common.ts';

/** Schemas of clouds (connector instances) and their health. */

export const CloudStatus = z.object({
  reachable: z.boolean(),
  latencyMs: z.number().nullable(),
  lastError: z.string().nullable(),
  checkedAt: z.string().nullable(),
});
export const Cloud = z.object({
  id: Id,
  name: z.string(),
  kind: z.string(),
  config: z
    .unknown()
    .describe(
      "The kind's config, as validated by its manifest's schema (its URI names hosts and users); null for anyone but an administrator",
    ),
  target: z
    .object({
      transport: z.string().describe('libvirt: local, unix, ssh, tcp or tls'),
      user: z.string().nullable().describe("null: the transport's default"),
      host: z.string().nullable().describe('null: the box itself'),
      port: z.number().nullable(),
      summary: z
        .string()
        .describe('The same in words, e.g. "connects over ssh as root to 10.0.0.2, port 22"'),
    })
    .nullable()
    .describe(
      'Who and where the cloud connects as; null for anyone but an administrator, and for a disabled cloud',
    ),
  builtIn: z.boolean().describe("True for the box's own hypervisor, which cannot be removed"),
  disabled: z
    .object({
      reason: z
        .string()
        .describe('Why (administrators only; others are told an administrator sees why)'),
    })
    .nullable()
    .describe(
      'Set when its config no longer passes the rules (checked at every start): the box never contacts it; remove it and add it again',
    ),
  status: CloudStatus,
});
export const CloudRules = z.object({
  keysDir: z
    .string()
    .describe(
      "The folder libvirt URIs' keyfile= and known_hosts= must name files in (the data dir's keys/)",
    ),
});
export const AddCloud = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
  kind: z.string().min(1).describe('A registered connector kind, e.g. libvirt'),
  config: z
    .unknown()
    .describe(
      "Validated by the kind's config schema; for libvirt: { uri, accelerator?, callTimeoutSeconds? }",
    ),
});

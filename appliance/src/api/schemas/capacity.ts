import { z } from 'zod';
import { limits } from '../../domain/limits.ts';
import { Id } from './common.ts';

/** Schemas of the box's capacity and the users' quotas. */

const count = z.number().int('must be a whole number').min(0, 'must not be negative');
export const Quota = z
  .strictObject({
    vms: count.optional(),
    vcpu: count.optional(),
    memoryMiB: count.optional(),
    diskGiB: count.optional(),
    runs: count
      .optional()
      .describe(
        `live runs at once, each counting one even when it reserves nothing; missing: ${limits.liveRunsPerUser}`,
      ),
  })
  .describe('Per-user limits; a missing resource is limited only by the box.');

const ResourceUsage = z.object({
  total: z.number().nullable().describe('null: no limit of its own (only the box limits it)'),
  used: z.number().describe('held by running VMs'),
  reserved: z.number().describe('held for VMs not launched yet'),
  free: z.number().nullable(),
});
export const Usage = z.object({
  vms: ResourceUsage,
  vcpu: ResourceUsage,
  memoryMiB: ResourceUsage,
  diskGiB: ResourceUsage,
});
export const CapacityReport = z.object({
  box: Usage,
  users: z
    .array(z.object({ userId: Id, quota: Quota, usage: Usage }))
    .describe('Everyone for an admin; yourself otherwise.'),
});

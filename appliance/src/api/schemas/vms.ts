import { z } from 'zod';
import { Id } from './common.ts';

/** Schemas of the VMs on the clouds: Bivouac's own, and those it does not know. */

const VmState = z.enum([
  'running',
  'starting',
  'paused',
  'shutting-down',
  'stopped',
  'crashed',
  'suspended',
  'unknown',
  'launching',
  'gone',
]);
export const Vm = z.object({
  id: Id,
  cloudId: Id,
  nativeId: z.string(),
  runId: z.string(),
  instance: z.string(),
  owner: Id,
  reservationId: Id.nullable(),
  imageId: Id.nullable(),
  state: VmState,
  ips: z.array(z.string()),
  vcpu: z.number(),
  memoryMiB: z.number(),
  diskGiB: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  goneReason: z
    .string()
    .nullable()
    .describe('terminated, vanished (deleted outside Bivouac), launch failed or interrupted'),
});
const StrayVm = z.object({
  cloudId: Id,
  nativeId: z.string(),
  name: z.string(),
  state: z.string(),
  runId: z.string().nullable(),
});
export const VmQuery = z.strictObject({
  include: z
    .enum(['live', 'all'])
    .default('live')
    .describe('live: VMs not gone; all: also gone ones'),
  runId: Id.optional().describe("Only this run's VMs (a run page lists its own)"),
});
export const VmList = z.object({
  vms: z.array(Vm).describe('The VMs you may view'),
  unknown: z
    .array(StrayVm)
    .describe('Administrators only: Bivouac VMs the store does not know (reported, never deleted)'),
  foreign: z
    .array(StrayVm)
    .describe('Administrators only: VMs on the clouds that Bivouac did not make'),
  tracking: z
    .record(z.string(), z.enum(['push', 'polling']))
    .describe('How each cloud reports VM state changes right now'),
});

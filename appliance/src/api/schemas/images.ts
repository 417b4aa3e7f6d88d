import { z } from 'zod';
import { imageNamePattern, imageNameRule } from '../../domain/images.ts';
import { Id } from './common.ts';

/** Schemas of base images in the image store. */

const Sha256 = z.string().regex(/^[A-Fa-f0-9]{64}$/, 'must be 64 hexadecimal digits');
const ImageName = z.string().trim().regex(imageNamePattern, imageNameRule);
const HostPath = z.string().startsWith('/', 'must be an absolute path on the box').max(4096);
export const Image = z.object({
  id: Id,
  name: z.string(),
  kind: z
    .enum(['disk', 'kernel'])
    .describe('disk: one qcow2 file; kernel: a kernel and initrd for direct boot'),
  status: z
    .enum(['importing', 'ready', 'unusable'])
    .describe(
      'importing: administrators only, until it is ready; unusable: it failed the image check at start (error says why)',
    ),
  error: z.string().nullable(),
  sizeBytes: z.number(),
  virtualBytes: z
    .number()
    .nullable()
    .describe(
      "A disk's virtual size, the least a VM disk made on it may have (resources.diskGiB); null for a kernel image",
    ),
  sha256: z
    .record(z.string(), z.string())
    .describe('Per file (disk, kernel, initrd), once verified'),
  cmdline: z.string().nullable(),
  createdAt: z.string(),
  createdBy: Id,
});
export const ImportImage = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('disk'),
    name: ImageName,
    path: HostPath,
    sha256: Sha256.optional(),
  }),
  z.strictObject({
    kind: z.literal('kernel'),
    name: ImageName,
    kernel: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    initrd: z.strictObject({ path: HostPath, sha256: Sha256.optional() }),
    cmdline: z
      .string()
      .max(1024)
      .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII')
      .default('console=ttyS0'),
  }),
]);
export const UploadImageQuery = z.strictObject({ name: ImageName, sha256: Sha256.optional() });

import { z } from 'zod';

/** Schemas every resource uses: ids, the empty answer, errors, and the box's readiness. */

export const Id = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an id of letters, digits, "_" or "-"');
export const IdParams = z.strictObject({ id: Id });

/** A run's (or an app's) title: one line, since it becomes the VMs' domain titles, which libvirt keeps to one line. */
export const OneLineTitle = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must be one line without control characters (no newline or tab)');

export const Health = z.object({
  /** `starting` (with 503) until the start-up has ended and a deploy can be served. */
  status: z.enum(['ok', 'starting']),
  version: z.string(),
  /** Parts of the start-up still under way, e.g. `built-in images`. */
  starting: z.array(z.string()),
  /** Parts that ended in failure (the box serves what it can without them). */
  failed: z.array(z.object({ part: z.string(), reason: z.string() })),
});
export const Empty = z.null();

export const ErrorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});

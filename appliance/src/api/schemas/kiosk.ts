import { z } from 'zod';

/** Schemas of kiosk mode: the box's own screen locked to the app store. */

export const KioskStatus = z.object({
  pinSet: z.boolean().describe('An administrator has set the PIN that leaves kiosk mode'),
  locked: z.boolean().describe('This session is locked to the app store'),
  isScreen: z
    .boolean()
    .describe(
      "This session is the box's own screen (a kiosk session), the only kind that can lock",
    ),
});
export const KioskPin = z.strictObject({
  pin: z.string().regex(/^[0-9]{4,12}$/, 'must be 4 to 12 digits'),
});

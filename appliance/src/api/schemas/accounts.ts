import { z } from 'zod';
import { roles } from '../../domain/access.ts';
import { passwordMinLength, usernamePattern } from '../../domain/users.ts';
import { Id } from './common.ts';

/** Schemas of first-run setup, sessions, users and their API tokens. */

export const Role = z
  .enum(roles)
  .describe(
    'admin: everything; operator: deploy and manage own and shared runs; viewer: read only',
  );

export const Username = z
  .string()
  .regex(
    usernamePattern,
    'must be 2-32 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"',
  );

export const Password = z
  .string()
  .min(passwordMinLength, `must be at least ${passwordMinLength} characters`)
  .max(256, 'must be at most 256 characters');

export const User = z.object({
  id: Id,
  username: z.string(),
  role: Role,
  disabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const UserName = z.object({ id: Id, username: z.string() });

export const SessionInfo = z.object({
  user: User,
  csrfToken: z
    .string()
    .describe('Send as the x-csrf-token header with every cookie-authenticated change.'),
  expiresAt: z.string(),
});

export const SetupStatus = z.object({
  needsAdmin: z.boolean().describe('True until the first administrator is created.'),
  tlsFingerprint: z
    .string()
    .nullable()
    .describe('SHA-256 of the HTTPS certificate remote administrators should see.'),
  version: z.string(),
  dryRun: z
    .boolean()
    .describe("True when the box's hypervisor is libvirt's test driver: no real VMs run."),
  setupCodeRequired: z
    .boolean()
    .describe(
      "True where creating the first administrator needs the setup code: everywhere but the box's own screen.",
    ),
  setupCode: z
    .string()
    .nullable()
    .describe(
      "The one-time setup code, shown only on the box's own screen (the local listener) while no administrator exists, to set up from another machine.",
    ),
});

/** The id the box's own screen keeps across restarts (the shell makes it once, at random). */
export const ScreenId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16 to 64 letters, digits, _ or -');
export const Credentials = z.strictObject({
  username: Username,
  password: z.string().min(1).max(256),
  screenId: ScreenId.optional().describe(
    "Given by the box's own screen to open a kiosk session (one that can be locked to the app store); accepted only on the local listener.",
  ),
});
export const CreateAdmin = z.strictObject({
  username: Username,
  password: Password,
  setupCode: z
    .string()
    .max(32)
    .optional()
    .describe(
      "The one-time code the box prints in its log and shows on its own screen; needed everywhere but on the box's own screen.",
    ),
});
export const CreateUser = z.strictObject({ username: Username, password: Password, role: Role });
export const UpdateUser = z
  .strictObject({
    role: Role.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
    currentPassword: z
      .string()
      .max(256)
      .optional()
      .describe('Required when changing your own password.'),
  })
  .refine(
    (value) => Object.values(value).some((field) => field !== undefined),
    'give at least one field to change',
  );

export const ApiToken = z.object({
  id: Id,
  name: z.string(),
  createdAt: z.string(),
});
export const CreateToken = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters'),
});
export const CreatedToken = ApiToken.extend({
  token: z.string().describe('The bearer token. Shown only in this answer; store it now.'),
});

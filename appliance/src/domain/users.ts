import type { Role } from './access.ts';

/** A local account as stored. The hash never leaves the appliance. */
export interface User {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A user as the API shows it. */
export type PublicUser = Omit<User, 'passwordHash'>;

export function toPublicUser({ passwordHash: _hash, ...rest }: User): PublicUser {
  return rest;
}

/** Would the box still have an enabled administrator after `next` replaces the user list? */
export function hasEnabledAdmin(users: readonly Pick<User, 'role' | 'disabled'>[]): boolean {
  return users.some((user) => user.role === 'admin' && !user.disabled);
}

export const usernamePattern = /^[a-z][a-z0-9._-]{1,31}$/;
export const passwordMinLength = 10;

import { randomBytes } from 'node:crypto';

/** A random, URL-safe id for stored records. */
export function newId(): string {
  return randomBytes(12).toString('base64url');
}

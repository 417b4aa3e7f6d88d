import { randomBytes } from 'node:crypto';

/**
 * A random, URL-safe id for stored records (16 characters of base64url). It never begins with
 * `-` or `_`: a run id is typed as a command's argument (`bivouac scale ID …`), where a leading
 * `-` reads as an option.
 */
export function newId(): string {
  for (;;) {
    const id = randomBytes(12).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}

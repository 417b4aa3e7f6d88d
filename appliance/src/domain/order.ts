/**
 * Code-point order of two strings: the same on every box, whatever its locale or ICU version
 * (`localeCompare` is neither, and loading ICU's collation costs a process some 3 MiB). For
 * canonical forms, checksum lists and stable listings.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import { createHash } from 'node:crypto';
import { limits } from '../domain/limits.ts';
import { BivouacError } from '../errors.ts';

/** The file of every other file's sha256, first in a bundle. */
export const checksumsFile = 'CHECKSUMS';
/** The publisher's signature of CHECKSUMS, second (absent from an unsigned bundle). */
export const signatureFile = 'SIGNATURE';
/** What the bundle is (the app, its modules file, its images), right after them. */
export const manifestFile = 'manifest.yaml';

/** What the box takes of a bundle, checked as it is read. */
export interface BundleLimits {
  maxEntries: number;
  maxFileBytes: number;
  /** What the files may unpack to in all. */
  maxTotalBytes: number;
  /** The bundle as received (compressed or not). */
  maxBundleBytes: number;
  /** Unpacked bytes allowed per byte received, beyond `ratioAllowanceBytes`. */
  maxRatio: number;
  ratioAllowanceBytes: number;
  /** CHECKSUMS, SIGNATURE and manifest.yaml, read into memory before anything is written. */
  maxHeadFileBytes: number;
}

export const defaultLimits: BundleLimits = {
  maxEntries: limits.bundleEntries,
  maxFileBytes: limits.bundleFileBytes,
  maxTotalBytes: limits.bundleUnpackedBytes,
  maxBundleBytes: limits.bundleBytes,
  maxRatio: limits.bundleRatio,
  ratioAllowanceBytes: limits.bundleRatioAllowanceBytes,
  maxHeadFileBytes: limits.bundleHeadFileBytes,
};

/** Entry names: relative, forward slashes, plain characters, no `.` or `..` segments. */
export const safePath =
  /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

/** BAD_BUNDLE: the bundle breaks the format, with what was wrong. */
export function refused(message: string, details: Record<string, unknown> = {}): BivouacError {
  return new BivouacError('BAD_BUNDLE', message, details);
}

export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function parseChecksums(text: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!match || !safePath.test(match[2]!))
      throw refused(`CHECKSUMS line ${index + 1} is not "<sha256>  <path>".`, { line: index + 1 });
    listed.set(match[2]!, match[1]!);
  }
  return listed;
}

/**
 * What the image store accepts, stated once. An image is data: QEMU opens a qcow2 header's
 * backing file or external data file as part of the disk, so a header naming either would give a
 * guest a host file. Every file that enters the store is described by `qemu-img info` and judged
 * here; the host layer runs the tool, this module only reads its answer.
 */

/** An image's name: what modules and bundles call it by, and part of the paths of exported bundles. */
export const imageNamePattern = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const imageNameRule =
  'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit, without ".."';

export const imageLimits = {
  /** The largest virtual size of a base image: far beyond any cloud image, far below what would strain QEMU's metadata. */
  virtualBytes: 1024 ** 4,
  /** The largest file the store takes (an upload, a file on removable media). */
  fileBytes: 256 * 1024 ** 3,
  /** `qemu-img info` gets this long (wall clock), this much CPU time and this much address space. */
  checkSeconds: 20,
  checkCpuSeconds: 10,
  checkMemoryBytes: 512 * 1024 ** 2,
} as const;

/** What the check can find wrong with a file; IMAGE_UNSAFE's details.found lists them. */
export type ImageFinding =
  'backing-file' | 'data-file' | 'encrypted' | 'format' | 'virtual-size' | 'unreadable';

/** The facts of `qemu-img info --output=json` the rule looks at. */
export interface ImageFacts {
  format: string | null;
  virtualBytes: number | null;
  backingFile: string | null;
  dataFile: string | null;
  encrypted: boolean;
}

/** Reads the facts out of `qemu-img info --output=json`; anything unexpected reads as unknown. */
export function imageFactsOf(info: unknown): ImageFacts {
  const top = (typeof info === 'object' && info !== null ? info : {}) as Record<string, unknown>;
  const specific = (
    typeof top['format-specific'] === 'object' && top['format-specific'] !== null
      ? top['format-specific']
      : {}
  ) as Record<string, unknown>;
  const data = (
    typeof specific.data === 'object' && specific.data !== null ? specific.data : {}
  ) as Record<string, unknown>;
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return {
    format: text(top.format),
    virtualBytes: typeof top['virtual-size'] === 'number' ? top['virtual-size'] : null,
    backingFile:
      text(top['backing-filename']) ??
      text(top['full-backing-filename']) ??
      (top['backing-filename-format'] !== undefined ? '(unnamed)' : null),
    dataFile: text(data['data-file']) ?? (data['data-file-raw'] !== undefined ? '(unnamed)' : null),
    encrypted: top.encrypted === true || data.encrypt !== undefined,
  };
}

/**
 * The image a module's `nativeImages.<kind>.imageId` names: an id, else the name of a ready
 * image, else the name of an unusable one (so a run is refused with why it cannot use it).
 */
export function findImage<T extends { id: string; name: string; status: string }>(
  images: readonly T[],
  idOrName: string,
): T | undefined {
  return (
    images.find((image) => image.id === idOrName) ??
    images.find((image) => image.name === idOrName && image.status === 'ready') ??
    images.find((image) => image.name === idOrName && image.status === 'unusable')
  );
}

/**
 * The least whole GiB of disk a VM made on a base image of `virtualBytes` may have: a smaller
 * overlay would cut the guest's disk short without a word.
 */
export function leastDiskGiB(virtualBytes: number): number {
  return Math.ceil(virtualBytes / 1024 ** 3);
}

/** The DISK_TOO_SMALL message: the disk given, the base image's size and the least that fits. */
export function diskTooSmallMessage(what: string, diskGiB: number, virtualBytes: number): string {
  return `The disk of ${what}, ${diskGiB} GiB, is smaller than its base image's ${(virtualBytes / 1024 ** 3).toFixed(1)} GiB; give the image module at least diskGiB: ${leastDiskGiB(virtualBytes)}.`;
}

/**
 * What is wrong with a file that should be `expected`: a disk must be a self-contained qcow2
 * (no backing file, no external data file, no encryption); a kernel or initrd is loaded by QEMU
 * as a plain file, so it must probe as raw. Both within the virtual size limit.
 */
export function imageFindings(facts: ImageFacts, expected: 'qcow2' | 'raw'): ImageFinding[] {
  const found: ImageFinding[] = [];
  if (facts.format !== expected) found.push('format');
  if (facts.backingFile !== null) found.push('backing-file');
  if (facts.dataFile !== null) found.push('data-file');
  if (facts.encrypted) found.push('encrypted');
  if (
    facts.virtualBytes === null ||
    facts.virtualBytes < 0 ||
    facts.virtualBytes > imageLimits.virtualBytes
  )
    found.push('virtual-size');
  return found;
}

const findingWords: Record<ImageFinding, string> = {
  'backing-file': 'it names a backing file',
  'data-file': 'it names an external data file',
  encrypted: 'it is encrypted',
  format: 'it is not of the declared format',
  'virtual-size': `its virtual size is unknown or above ${imageLimits.virtualBytes / 1024 ** 4} TiB`,
  unreadable: 'qemu-img could not read it in time',
};

/**
 * Why a file was refused, in words that name no host path (the reason is kept with a stored
 * image, which every user may list).
 */
export function describeFindings(
  found: readonly ImageFinding[],
  expected: 'qcow2' | 'raw',
): string {
  const allowed =
    expected === 'qcow2'
      ? 'a self-contained qcow2 disk (no backing file, no external data file, no encryption)'
      : 'a plain file (QEMU loads kernels and initrds as they are)';
  return `${found.map((finding) => findingWords[finding]).join(', ')}; only ${allowed} of at most ${imageLimits.virtualBytes / 1024 ** 4} TiB is accepted`;
}

/** Where a VM's disk comes from. */
export type BootImage =
  | { kind: 'disk'; path: string; format: 'qcow2' | 'raw' }
  | { kind: 'kernel'; kernel: string; initrd: string; cmdline: string };

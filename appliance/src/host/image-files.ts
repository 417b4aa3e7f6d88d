import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { imageLimits } from '../domain/images.ts';
import { BivouacError } from '../errors.ts';
import type { ImportFile } from './import-files.ts';

/** The files an image is made of: one qcow2 disk, or a kernel and its initrd. */
export type ImageRole = 'disk' | 'kernel' | 'initrd';
export type ImageSources =
  | { kind: 'disk'; disk: Source }
  | { kind: 'kernel'; kernel: Source; initrd: Source; cmdline: string };

/** Where one file's bytes come from, with its size when known and the sha256 it must have. */
export interface Source {
  open(): Readable | Promise<Readable>;
  sizeBytes: number;
  sha256?: string | undefined;
  /** Shown in progress events and errors. */
  label: string;
}

/** Each file's name in its image's folder. */
export const imageFileNames: Record<ImageRole, string> = {
  disk: 'disk.qcow2',
  kernel: 'kernel',
  initrd: 'initrd',
};

/**
 * Base images are shared, read-only backing files, not secrets: the hypervisor, which may run
 * as its own user (libvirt-qemu on a box), must reach them.
 */
export const baseImageDirMode = 0o755;

/** The files of an import, in the order they are received. */
export function filesOf(sources: ImageSources): [ImageRole, Source][] {
  return sources.kind === 'disk'
    ? [['disk', sources.disk]]
    : [
        ['kernel', sources.kernel],
        ['initrd', sources.initrd],
      ];
}

/**
 * A file the appliance itself placed (a staged bundle's image, a built-in image) as a source.
 * Files an administrator names by path come through `ImportFolders` instead.
 */
export async function fileSource(path: string, sha256?: string): Promise<Source> {
  const info = await lstat(path).catch(() => null);
  if (!info?.isFile())
    throw new BivouacError('BAD_IMAGE', `${path} is not a readable file.`, { path });
  if (info.size > imageLimits.fileBytes)
    throw new BivouacError(
      'FILE_TOO_LARGE',
      `${path} is ${info.size} bytes; an image file may be at most ${imageLimits.fileBytes}.`,
      { path, sizeBytes: info.size, limitBytes: imageLimits.fileBytes },
    );
  return { open: () => createReadStream(path), sizeBytes: info.size, sha256, label: path };
}

/** An administrator's file on removable media or in an import folder, already checked, as a source. */
export function importSource(file: ImportFile, sha256?: string): Source {
  return { open: () => file.open(), sizeBytes: file.sizeBytes, sha256, label: file.label };
}

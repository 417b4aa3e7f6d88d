import { execFile } from 'node:child_process';
import { access, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { diskTooSmallMessage, imageFactsOf, leastDiskGiB } from '../../domain/images.ts';
import { BivouacError } from '../../errors.ts';
import type { VmSpec } from '../contract.ts';

const run = promisify(execFile);

/** Refuses base image files that are missing or unreadable (the test driver never reads them). */
export async function checkReadable(uri: string, ...paths: string[]): Promise<void> {
  if (uri.startsWith('test')) return; // the test driver never reads images
  for (const path of paths) {
    await access(path).catch(() => {
      throw new BivouacError('BAD_IMAGE', `Base image file ${path} is missing or unreadable.`, {
        image: path,
      });
    });
  }
}

/**
 * The VM's disk: a qcow2 overlay of `diskGiB` on the base image, made in the VM's `folder`. It
 * is never smaller than the base (qemu-img would cut the guest's disk short without a word), and
 * only the box's user reads it: it holds what the guest writes, cloud-init's copy of the agent
 * token among it, and its path is on QEMU's command line for every local user to see.
 */
export async function makeOverlay(
  spec: VmSpec,
  folder: string,
  uri: string,
  timeoutMs: number,
): Promise<string> {
  if (spec.image.kind !== 'disk') throw new Error('not a disk image');
  const base = spec.image.path;
  const overlay = join(folder, 'disk.qcow2');
  if (uri.startsWith('test')) return overlay;
  await checkReadable(uri, base);
  const refused = (error: { stderr?: string }): never => {
    throw new BivouacError(
      'BAD_IMAGE',
      `Cannot make a disk on base image ${base}: ${error.stderr ?? String(error)}`,
      { image: base },
    );
  };
  const { stdout } = await run(
    'qemu-img',
    ['info', '-U', '--output=json', '-f', spec.image.format, base],
    { timeout: timeoutMs },
  ).catch(refused);
  // The last guard (the size is checked when a run is asked for): the file as it is now.
  const baseBytes = virtualSizeOf(stdout);
  if (baseBytes === null)
    throw new BivouacError(
      'BAD_IMAGE',
      `qemu-img could not tell the virtual size of base image ${base}; it cannot be used.`,
      { image: base },
    );
  if (baseBytes > spec.diskGiB * 1024 ** 3) {
    throw new BivouacError(
      'DISK_TOO_SMALL',
      diskTooSmallMessage('the VM', spec.diskGiB, baseBytes),
      {
        diskGiB: spec.diskGiB,
        baseBytes,
        neededGiB: leastDiskGiB(baseBytes),
      },
    );
  }
  await run(
    'qemu-img',
    [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      base,
      '-F',
      spec.image.format,
      overlay,
      `${spec.diskGiB}G`,
    ],
    { timeout: timeoutMs },
  ).catch(refused);
  await chmod(overlay, 0o600); // qemu-img follows the umask
  return overlay;
}

/** The virtual size in `qemu-img info --output=json`, or null when the output does not tell it. */
export function virtualSizeOf(output: string): number | null {
  try {
    return imageFactsOf(JSON.parse(output)).virtualBytes;
  } catch {
    return null;
  }
}

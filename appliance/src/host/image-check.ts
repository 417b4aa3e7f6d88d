import { execFile } from 'node:child_process';
import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeFindings,
  imageFactsOf,
  imageFindings,
  imageLimits,
  type ImageFacts,
  type ImageFinding,
} from '../domain/images.ts';
import { BivouacError } from '../errors.ts';
import type { StoredImage } from '../store/document.ts';
import { imageFileNames, type ImageRole } from './image-files.ts';

/** What `qemu-img info` said of a file and what the rule found wrong with it (nothing: safe). */
export interface ImageVerdict {
  facts: ImageFacts | null;
  found: ImageFinding[];
  /** Why, in words that name no host path. */
  reason: string | null;
}

/**
 * Describes `path` with `qemu-img info --output=json -U` and judges it by the image rule. The
 * tool runs under prlimit (address space and CPU time) and a wall-clock limit, without a shell,
 * and opens only the file itself: `info` never follows a backing chain. A file the tool cannot
 * read in time is `unreadable`, never accepted.
 */
export async function inspectImage(path: string, expected: 'qcow2' | 'raw'): Promise<ImageVerdict> {
  let output: string;
  try {
    output = await new Promise<string>((resolve, reject) => {
      execFile(
        'prlimit',
        [
          `--as=${imageLimits.checkMemoryBytes}`,
          `--cpu=${imageLimits.checkCpuSeconds}`,
          '--',
          'qemu-img',
          'info',
          '--output=json',
          '-U',
          path,
        ],
        {
          timeout: imageLimits.checkSeconds * 1000,
          killSignal: 'SIGKILL',
          maxBuffer: 1024 * 1024,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', MALLOC_ARENA_MAX: '2' },
        },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BivouacError(
        'BAD_IMAGE',
        'Images cannot be checked on this box: prlimit (util-linux) and qemu-img (qemu-utils) must be installed.',
        { reason: 'qemu-img or prlimit missing' },
      );
    }
    return {
      facts: null,
      found: ['unreadable'],
      reason: describeFindings(['unreadable'], expected),
    };
  }
  let info: unknown;
  try {
    info = JSON.parse(output);
  } catch {
    return {
      facts: null,
      found: ['unreadable'],
      reason: describeFindings(['unreadable'], expected),
    };
  }
  const facts = imageFactsOf(info);
  const found = imageFindings(facts, expected);
  return { facts, found, reason: found.length > 0 ? describeFindings(found, expected) : null };
}

/** IMAGE_UNSAFE for a refused file: the message for the administrator who asked names what was found. */
export function unsafeImage(label: string, role: string, verdict: ImageVerdict): BivouacError {
  const facts = verdict.facts;
  return new BivouacError('IMAGE_UNSAFE', `${label} was refused: ${verdict.reason}.`, {
    file: role,
    found: verdict.found,
    ...(facts?.format ? { format: facts.format } : {}),
    ...(facts?.backingFile ? { backingFile: facts.backingFile } : {}),
    ...(facts?.dataFile ? { dataFile: facts.dataFile } : {}),
    ...(facts?.virtualBytes !== null && facts?.virtualBytes !== undefined
      ? { virtualBytes: facts.virtualBytes }
      : {}),
    limitBytes: imageLimits.virtualBytes,
  });
}

/** The format `qemu-img info` must find: a disk is qcow2, a kernel and an initrd are raw files. */
export function expectedFormat(role: ImageRole): 'qcow2' | 'raw' {
  return role === 'disk' ? 'qcow2' : 'raw';
}

/**
 * Refuses files that cannot be what they claim: a disk must be qcow2; a kernel a bzImage or an
 * ELF vmlinux; an initrd a gzip, xz, zstd, lz4 or plain cpio archive.
 */
export async function checkFormat(role: ImageRole, path: string, label: string): Promise<void> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(0x210);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const starts = (hex: string, at = 0): boolean =>
    head.subarray(at, at + hex.length / 2).equals(Buffer.from(hex, 'hex'));
  const ok =
    role === 'disk'
      ? starts('514649fb')
      : role === 'kernel'
        ? starts('7f454c46') || head.subarray(0x202, 0x206).toString('latin1') === 'HdrS'
        : starts('1f8b') ||
          starts('fd377a585a00') ||
          starts('28b52ffd') ||
          starts('02214c18') ||
          starts('04224d18') ||
          head.subarray(0, 6).toString('latin1') === '070701';
  if (!ok) {
    const wanted =
      role === 'disk'
        ? 'a qcow2 disk'
        : role === 'kernel'
          ? 'a Linux kernel (bzImage or vmlinux)'
          : 'an initrd (compressed or plain cpio)';
    throw new BivouacError('IMAGE_UNSAFE', `${label} is not ${wanted}.`, {
      file: role,
      found: ['format'] satisfies ImageFinding[],
      wanted,
    });
  }
}

/**
 * Why a stored image's files (in `directory`, the image store) fail the rule, in words that name
 * no host path (null if they pass), and a disk's virtual size as the check read it.
 */
export async function storedImageProblem(
  directory: string,
  image: StoredImage,
): Promise<{ reason: string | null; virtualBytes: number | null }> {
  const roles: ImageRole[] = image.kind === 'disk' ? ['disk'] : ['kernel', 'initrd'];
  let virtualBytes: number | null = image.virtualBytes;
  for (const role of roles) {
    const path = join(directory, image.id, imageFileNames[role]);
    const info = await lstat(path).catch(() => null);
    if (!info?.isFile())
      return { reason: `its ${role} file is missing from the image store`, virtualBytes };
    try {
      await checkFormat(role, path, `The ${role} file`);
    } catch (error) {
      return {
        reason: `the ${role} file ${error instanceof BivouacError ? describeFindings(['format'], expectedFormat(role)) : 'cannot be read'}`,
        virtualBytes,
      };
    }
    const verdict = await inspectImage(path, expectedFormat(role));
    if (verdict.found.length > 0)
      return { reason: `the ${role} file was refused: ${verdict.reason}`, virtualBytes };
    if (role === 'disk') virtualBytes = verdict.facts?.virtualBytes ?? null;
  }
  return { reason: null, virtualBytes };
}

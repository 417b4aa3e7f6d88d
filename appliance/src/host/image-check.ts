import { execFile } from 'node:child_process';
import {
  describeFindings,
  imageFactsOf,
  imageFindings,
  imageLimits,
  type ImageFacts,
  type ImageFinding,
} from '../domain/images.ts';
import { BivouacError } from '../errors.ts';

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

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BivouacError } from '../errors.ts';
import {
  checkFormat,
  expectedFormat,
  inspectImage,
  unsafeImage,
  type ImageVerdict,
} from './image-check.ts';
import { imageFileNames, type ImageRole, type Source } from './image-files.ts';

const progressEveryMs = 250;

/** How far an import has come, for the progress events. */
export interface ImportProgress {
  file: ImageRole;
  receivedBytes: number;
  totalBytes: number;
}

/** What an import received: each file's sha256, the bytes in all, and the disk's virtual size. */
export interface ReceivedFiles {
  sha256: Record<string, string>;
  receivedBytes: number;
  virtualBytes: number | null;
}

/**
 * Streams every file of an import through a sha256 into `folder`, then checks it: the announced
 * size, the expected checksum, the format and the image rule; a file that passes is fsynced.
 * Progress is reported at most every 250 ms and once after each file.
 */
export async function receiveFiles(
  folder: string,
  files: [ImageRole, Source][],
  total: number,
  signal: AbortSignal,
  onProgress: (progress: ImportProgress) => void,
): Promise<ReceivedFiles> {
  const sha256: Record<string, string> = {};
  let virtualBytes: number | null = null;
  let received = 0;
  let lastProgress = 0;
  for (const [role, source] of files) {
    const target = join(folder, imageFileNames[role]);
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        hash.update(chunk);
        bytes += chunk.length;
        received += chunk.length;
        const now = Date.now();
        if (now - lastProgress >= progressEveryMs) {
          lastProgress = now;
          onProgress({ file: role, receivedBytes: received, totalBytes: total });
        }
        callback(null, chunk);
      },
    });
    await pipeline(await source.open(), meter, createWriteStream(target, { mode: 0o644 }), {
      signal,
    });
    const digest = hash.digest('hex');
    if (source.sizeBytes !== bytes) {
      throw new BivouacError(
        'BAD_IMAGE',
        `${source.label} ended after ${bytes} bytes; ${source.sizeBytes} were announced.`,
        { file: role, receivedBytes: bytes, expectedBytes: source.sizeBytes },
      );
    }
    if (source.sha256 && source.sha256.toLowerCase() !== digest) {
      throw new BivouacError(
        'CHECKSUM_MISMATCH',
        `${source.label} has sha256 ${digest}, not the expected ${source.sha256.toLowerCase()}; it may be damaged or altered.`,
        {
          file: role,
          expected: source.sha256.toLowerCase(),
          actual: digest,
        },
      );
    }
    await checkFormat(role, target, source.label);
    const verdict: ImageVerdict = await inspectImage(target, expectedFormat(role));
    if (verdict.found.length > 0) throw unsafeImage(source.label, role, verdict);
    if (role === 'disk') virtualBytes = verdict.facts?.virtualBytes ?? null;
    await fsyncFile(target);
    sha256[role] = digest;
    onProgress({ file: role, receivedBytes: received, totalBytes: total });
  }
  return { sha256, receivedBytes: received, virtualBytes };
}

/** Why an import failed, as the typed error its caller hears. */
export function importFailure(error: unknown, signal: AbortSignal): BivouacError {
  if (error instanceof BivouacError) return error;
  if (signal.aborted)
    return new BivouacError(
      'BAD_IMAGE',
      `The import stopped: ${(signal.reason as Error)?.message ?? 'cancelled'}.`,
      {},
    );
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
    return new BivouacError('NO_SPACE', 'The disk filled up during the import.', {});
  return new BivouacError('BAD_IMAGE', `The import failed: ${(error as Error).message}.`, {});
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

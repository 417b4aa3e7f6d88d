import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ExtractEvents, Header } from 'tar-stream';
import type { PublisherKey } from '../domain/apps.ts';
import { BivouacError } from '../errors.ts';
import {
  checksumsFile,
  defaultLimits,
  manifestFile,
  parseChecksums,
  refused,
  safePath,
  sha256Of,
  signatureFile,
  type BundleLimits,
} from './bundle-format.ts';
import { checkSignature, type Verdict } from './bundle-signature.ts';

/** A file extracted into the staging folder. */
export interface StagedFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

/** What a bundle says about itself before any of its files is written: checked, not yet believed. */
export interface BundleHead<Key extends PublisherKey> {
  verdict: Verdict<Key>;
  /** manifest.yaml's bytes, matching CHECKSUMS (and so the signature, when signed). */
  manifest: Buffer;
  /** Every file CHECKSUMS lists, with its sha256. */
  listed: ReadonlyMap<string, string>;
}

export interface ReadBundleOptions<Key extends PublisherKey> {
  trusted: readonly Key[];
  /**
   * Decides on the head, before anything is written to disk: throws to refuse the bundle, or
   * names the files to keep in memory instead of on disk, each with the most bytes it may have.
   */
  admit(head: BundleHead<Key>): Promise<{ inMemory: ReadonlyMap<string, number> }>;
  /** Bytes that may still be written where the bundle unpacks (free space less a reserve). */
  spaceLeft(): Promise<number>;
  limits?: BundleLimits;
  /** Bytes received so far (for progress), called as they arrive. */
  onReceived?: (bytes: number) => void;
}

export interface ReadBundle<Key extends PublisherKey> {
  verdict: Verdict<Key>;
  manifest: Buffer;
  /** Files written to the staging folder, each matching CHECKSUMS. */
  files: Map<string, StagedFile>;
  /** Files kept in memory (as `admit` asked), each matching CHECKSUMS. */
  inMemory: Map<string, Buffer>;
}

/** One entry's bytes, as the tar reader hands them over. */
type EntryStream = ExtractEvents['entry'][1];

/** How often a file being written checks the free space again. */
const spaceCheckBytes = 256 * 1024 ** 2;

const mib = (bytes: number): string => `${Math.round((bytes / 1024 ** 2) * 10) / 10} MiB`;

/**
 * Reads a bundle in the order its writer puts it: CHECKSUMS first, then SIGNATURE (unless
 * unsigned), then manifest.yaml, each held in memory within `maxHeadFileBytes`, refused by its tar
 * header when larger. The signature is checked against the trusted keys and the manifest against
 * CHECKSUMS, and `admit` decides, before a single file is written to `staging` (which must be
 * empty and private). Only then are the other files written, each refused before its first byte
 * when CHECKSUMS does not list it, when it is not a plain file or its name climbs out, or when it
 * breaks the limits or does not fit in the space left; each is hashed as it streams and refused
 * when it does not match. A gzip stream is refused once it unpacks beyond the ratio.
 */
export async function readBundle<Key extends PublisherKey>(
  input: Readable,
  staging: string,
  options: ReadBundleOptions<Key>,
): Promise<ReadBundle<Key>> {
  const bounds = options.limits ?? defaultLimits;
  const files = new Map<string, StagedFile>();
  const inMemory = new Map<string, Buffer>();
  const seen = new Set<string>();
  let phase: 'checksums' | 'signature' | 'manifest' | 'payload' = 'checksums';
  let listed = new Map<string, string>();
  let checksums: Buffer = Buffer.alloc(0);
  let verdict: Verdict<Key> = { signed: false, reason: 'the bundle has no SIGNATURE' };
  let manifest: Buffer = Buffer.alloc(0);
  let keep: ReadonlyMap<string, number> = new Map();
  let entries = 0;
  let total = 0;
  let received = 0;
  let unpacked = 0;
  // tar-stream and its streams are loaded by the first bundle read or written, not by every box.
  const { extract } = await import('tar-stream');
  const untar = extract();
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      options.onReceived?.(received);
      if (received > bounds.maxBundleBytes) return callback(tooLarge(bounds.maxBundleBytes));
      callback(null, chunk);
    },
  });
  input.on('error', (error) => counted.destroy(error));
  const source = await maybeGunzip(input.pipe(counted), (bytes) => {
    unpacked += bytes;
    const allowed = bounds.ratioAllowanceBytes + bounds.maxRatio * received;
    return unpacked > allowed
      ? refused(
          `The bundle unpacks to more than ${bounds.maxRatio} times its size (${mib(unpacked)} from ${mib(received)} received): it is refused as a compression bomb.`,
          { ratio: bounds.maxRatio },
        )
      : null;
  });

  const readSmall = async (
    stream: EntryStream,
    name: string,
    size: number,
    cap: number,
  ): Promise<Buffer> => {
    if (size > cap)
      throw refused(`${name} is ${size} bytes; at most ${cap} are allowed.`, {
        entry: name,
        limit: cap,
      });
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of stream) {
      length += (chunk as Buffer).length;
      if (length > cap)
        throw refused(`${name} is larger than ${cap} bytes.`, { entry: name, limit: cap });
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  };
  const matches = (name: string, sha256: string): void => {
    if (listed.get(name) !== sha256)
      throw refused(`"${name}" does not match CHECKSUMS: the bundle was altered or damaged.`, {
        entry: name,
      });
  };

  const onEntry = async (header: Header, stream: EntryStream): Promise<void> => {
    entries += 1;
    const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
    if (entries > bounds.maxEntries)
      throw refused(`The bundle has more than ${bounds.maxEntries} entries.`, {
        limit: bounds.maxEntries,
      });
    if (header.type === 'directory') {
      if (name !== '' && !safePath.test(name))
        throw refused(
          `Entry "${header.name}" has a name that is not allowed (absolute, "..", or unusual characters).`,
          { entry: header.name },
        );
      stream.resume();
      return;
    }
    if (header.type !== 'file')
      throw refused(
        `Entry "${header.name}" is a ${header.type}; bundles hold only plain files and folders.`,
        { entry: header.name, type: header.type },
      );
    if (!safePath.test(name))
      throw refused(
        `Entry "${header.name}" has a name that is not allowed (absolute, "..", or unusual characters).`,
        { entry: header.name },
      );
    if (seen.has(name)) throw refused(`Entry "${name}" appears twice.`, { entry: name });
    seen.add(name);
    const size = header.size ?? 0;
    if (size > bounds.maxFileBytes)
      throw refused(
        `Entry "${name}" is ${size} bytes; at most ${bounds.maxFileBytes} are allowed.`,
        { entry: name, limit: bounds.maxFileBytes },
      );

    if (phase === 'checksums') {
      if (name !== checksumsFile)
        throw refused(
          `The bundle must start with CHECKSUMS, then SIGNATURE and manifest.yaml; it starts with "${name}". Bundles written before this order was required must be exported or written again.`,
          { entry: name },
        );
      checksums = await readSmall(stream, checksumsFile, size, bounds.maxHeadFileBytes);
      listed = parseChecksums(checksums.toString('utf8'));
      phase = 'signature';
      return;
    }
    if (phase === 'signature') {
      phase = 'manifest';
      if (name === signatureFile) {
        verdict = checkSignature(
          await readSmall(stream, signatureFile, size, 64 * 1024),
          checksums,
          options.trusted,
        );
        return;
      }
    }
    if (phase === 'manifest') {
      if (name !== manifestFile)
        throw refused(
          `manifest.yaml must follow CHECKSUMS and SIGNATURE in the bundle; "${name}" comes first.`,
          { entry: name },
        );
      manifest = await readSmall(stream, manifestFile, size, bounds.maxHeadFileBytes);
      if (!listed.has(manifestFile))
        throw refused('"manifest.yaml" is in the bundle but not in CHECKSUMS.', {
          entry: manifestFile,
        });
      matches(manifestFile, sha256Of(manifest));
      keep = (await options.admit({ verdict, manifest, listed })).inMemory;
      phase = 'payload';
      return;
    }
    if (name === checksumsFile || name === signatureFile)
      throw refused(`${name} must come before manifest.yaml and the other files.`, { entry: name });
    if (!listed.has(name))
      throw refused(`"${name}" is in the bundle but not in CHECKSUMS.`, { entry: name });
    const cap = keep.get(name);
    if (cap !== undefined) {
      const data = await readSmall(stream, name, size, cap);
      matches(name, sha256Of(data));
      inMemory.set(name, data);
      return;
    }
    total += size;
    if (total > bounds.maxTotalBytes)
      throw refused(`The bundle unpacks to more than ${bounds.maxTotalBytes} bytes.`, {
        limit: bounds.maxTotalBytes,
      });
    const left = await options.spaceLeft();
    if (size > left) {
      throw new BivouacError(
        'NO_SPACE',
        `Not enough disk space: "${name}" needs ${mib(size)}, only ${mib(Math.max(0, left))} can be written while keeping the disk's reserve free.`,
        { entry: name, neededBytes: size, freeBytes: Math.max(0, left) },
      );
    }
    const target = join(staging, name);
    const hash = createHash('sha256');
    let written = 0;
    let checkedAt = 0;
    const hasher = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        written += chunk.length;
        if (written - checkedAt < spaceCheckBytes) return callback(null, chunk);
        // The disk is shared: what is left of the file must still fit as it streams.
        checkedAt = written;
        options.spaceLeft().then(
          (now) =>
            callback(
              now < size - written
                ? new BivouacError(
                    'NO_SPACE',
                    `The disk filled up while "${name}" was written: ${mib(size - written)} more are needed, ${mib(Math.max(0, now))} can be written.`,
                    { entry: name, neededBytes: size - written, freeBytes: Math.max(0, now) },
                  )
                : null,
              chunk,
            ),
          (error: unknown) => callback(error as Error),
        );
      },
    });
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await pipeline(stream, hasher, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
    const sha256 = hash.digest('hex');
    matches(name, sha256);
    files.set(name, { path: name, sizeBytes: size, sha256 });
  };

  const done = new Promise<void>((resolve, reject) => {
    untar.on('entry', (header, stream, next) => {
      // The entry stream dies with the extractor on a refusal; the extractor reports it.
      stream.on('error', () => undefined);
      onEntry(header, stream).then(
        () => next(),
        (error: unknown) => {
          stream.resume();
          untar.destroy(error as Error);
        },
      );
    });
    untar.on('finish', resolve);
    untar.on('error', reject);
  });
  source.on('error', (error) => untar.destroy(error));
  source.pipe(untar);
  try {
    await done;
  } catch (error) {
    if (error instanceof BivouacError) throw error;
    throw refused(`The bundle is not a readable tar file: ${(error as Error).message}`);
  } finally {
    source.unpipe(untar);
    source.destroy();
    counted.destroy();
  }
  if (phase === 'checksums') throw refused('The bundle has no CHECKSUMS file.');
  if (phase !== 'payload') throw refused('The bundle has no manifest.yaml.');
  for (const name of listed.keys())
    if (!seen.has(name))
      throw refused(`"${name}" is listed in CHECKSUMS but missing from the bundle.`, {
        entry: name,
      });
  return { verdict, manifest, files, inMemory };
}

function tooLarge(limit: number): BivouacError {
  return new BivouacError(
    'BODY_TOO_LARGE',
    `The bundle is larger than ${limit} bytes, the most the box takes.`,
    { limitBytes: limit },
  );
}

/**
 * Gzip is detected by its magic number, so both .tar and .tar.gz bundles are read. `onUnpacked`
 * hears how many bytes each decompressed chunk has, and stops the stream with the error it returns.
 */
async function maybeGunzip(
  input: Readable,
  onUnpacked: (bytes: number) => BivouacError | null,
): Promise<Readable> {
  const head: Buffer = await new Promise((resolve, reject) => {
    const onReadable = (): void => {
      const chunk = input.read(2) as Buffer | null;
      if (chunk !== null) {
        cleanup();
        resolve(chunk);
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.alloc(0));
    };
    const cleanup = (): void => {
      input.off('readable', onReadable);
      input.off('end', onEnd);
      input.off('error', reject);
    };
    input.on('readable', onReadable);
    input.on('end', onEnd);
    input.on('error', reject);
  });
  const rest = new PassThrough();
  rest.write(head);
  input.pipe(rest);
  input.on('error', (error) => rest.destroy(error));
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    rest.on('error', (error) => gunzip.destroy(error));
    const measured = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        callback(onUnpacked(chunk.length), chunk);
      },
    });
    gunzip.on('error', (error) => measured.destroy(error));
    return rest.pipe(gunzip).pipe(measured);
  }
  return rest;
}

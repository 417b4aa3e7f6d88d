import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { ExtractEvents, Header } from 'tar-stream';
import { limits } from '../domain/limits.ts';
import { BivouacError } from '../errors.ts';
import type { PublisherKey } from '../domain/apps.ts';
import { byCodePoint } from '../domain/order.ts';

/**
 * The bundle format: one tar file (gzip-compressed or not) holding `manifest.yaml`, the app's
 * modules, its icon and screenshots, optional base images, and two files that make it
 * trustworthy: `CHECKSUMS` (a sha256 and a path per line, for every other file) and
 * `SIGNATURE` (JSON: the publisher's key id and an ed25519 signature of CHECKSUMS). CHECKSUMS,
 * SIGNATURE and manifest.yaml are the first entries, in that order, so that a bundle is judged
 * before anything of it reaches the disk. A bundle is only believed once every file matches
 * CHECKSUMS exactly — nothing missing, nothing extra — and the signature is by a trusted
 * publisher.
 */

export const checksumsFile = 'CHECKSUMS';
export const signatureFile = 'SIGNATURE';
export const manifestFile = 'manifest.yaml';

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

/** A file extracted into the staging folder. */
export interface StagedFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface SigningKey extends PublisherKey {
  privateKeyPem: string;
}

export type Verdict<Key extends PublisherKey = PublisherKey> =
  { signed: true; publisher: Key } | { signed: false; reason: string };

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

/** Entry names: relative, forward slashes, plain characters, no `.` or `..` segments. */
const safePath =
  /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

function refused(message: string, details: Record<string, unknown> = {}): BivouacError {
  return new BivouacError('BAD_BUNDLE', message, details);
}

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

function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
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

/** The verdict on SIGNATURE: by a trusted key (and then it must match), or unsigned with the reason. */
function checkSignature<Key extends PublisherKey>(
  text: Buffer,
  checksums: Buffer,
  trusted: readonly Key[],
): Verdict<Key> {
  let signature: { publisher?: unknown; algorithm?: unknown; signature?: unknown };
  try {
    signature = JSON.parse(text.toString('utf8')) as typeof signature;
  } catch {
    throw refused('SIGNATURE is not valid JSON.');
  }
  if (
    signature === null ||
    typeof signature !== 'object' ||
    signature.algorithm !== 'ed25519' ||
    typeof signature.publisher !== 'string' ||
    typeof signature.signature !== 'string'
  ) {
    throw refused(
      'SIGNATURE must be {"publisher": key id, "algorithm": "ed25519", "signature": base64}.',
    );
  }
  const keyId = signature.publisher;
  const key = trusted.find((candidate) => candidate.keyId === keyId);
  if (!key)
    return {
      signed: false,
      reason: `signed by ${keyId.slice(0, 64)}, which is not a trusted publisher`,
    };
  const valid = verify(
    null,
    checksums,
    publicKeyObject(key.publicKey),
    Buffer.from(signature.signature, 'base64'),
  );
  if (!valid)
    throw refused(
      `The signature does not match: the bundle was altered after ${key.keyId} signed it.`,
      { publisher: key.keyId },
    );
  return { signed: true, publisher: key };
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

/** A file to put in a bundle: its bytes, or a file on disk (streamed). */
export type BundleEntry = { path: string; data: Buffer } | { path: string; file: string };

/**
 * Writes a gzip-compressed bundle: the entries, CHECKSUMS over them, and SIGNATURE by `signer`
 * (unsigned when null). Files on disk are streamed and hashed twice rather than held in memory.
 */
export async function writeBundle(
  output: Writable,
  entries: readonly BundleEntry[],
  signer: SigningKey | null,
): Promise<void> {
  const sums: string[] = [];
  for (const entry of [...entries].sort((a, b) => byCodePoint(a.path, b.path))) {
    if (!safePath.test(entry.path)) throw new Error(`bug: unsafe bundle path ${entry.path}`);
    sums.push(
      `${'data' in entry ? createHash('sha256').update(entry.data).digest('hex') : await hashFile(entry.file)}  ${entry.path}`,
    );
  }
  const checksums = Buffer.from(`${sums.join('\n')}\n`);
  const { pack } = await import('tar-stream');
  const tar = pack();
  const written = pipeline(tar, createGzip(), output);
  const mtime = new Date(0);
  // The reader's order: CHECKSUMS, SIGNATURE and manifest.yaml come first, so a bundle is
  // verified and its manifest checked before any other file of it is written to disk.
  tar.entry({ name: checksumsFile, mode: 0o644, mtime }, checksums);
  if (signer) {
    const signature = sign(null, checksums, createPrivateKey(signer.privateKeyPem)).toString(
      'base64',
    );
    tar.entry(
      { name: signatureFile, mode: 0o644, mtime },
      JSON.stringify({ publisher: signer.keyId, algorithm: 'ed25519', signature }),
    );
  }
  const ordered = [
    ...entries.filter((entry) => entry.path === manifestFile),
    ...entries.filter((entry) => entry.path !== manifestFile),
  ];
  for (const entry of ordered) {
    if ('data' in entry) {
      tar.entry({ name: entry.path, size: entry.data.length, mode: 0o644, mtime }, entry.data);
    } else {
      const size = (await stat(entry.file)).size;
      const sink = tar.entry({ name: entry.path, size, mode: 0o644, mtime });
      await pipeline(createReadStream(entry.file), sink);
    }
  }
  tar.finalize();
  await written;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A new ed25519 publisher key. */
export function newSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    ...publisherOf(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

function publisherOf(publicKey: KeyObject): PublisherKey {
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return {
    keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16),
    publicKey: raw.toString('base64'),
  };
}

/** A publisher key from its raw base64 form, checked. */
export function publisherKey(rawBase64: string): PublisherKey {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32)
    throw new BivouacError(
      'VALIDATION_FAILED',
      'A publisher key is the base64 of a raw 32-byte ed25519 public key.',
      { fields: [{ field: 'publicKey', message: 'must be 32 bytes, base64' }] },
    );
  return publisherOf(publicKeyObject(rawBase64));
}

function publicKeyObject(rawBase64: string): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(rawBase64, 'base64').toString('base64url') },
    format: 'jwk',
  });
}

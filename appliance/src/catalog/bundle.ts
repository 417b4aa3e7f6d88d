import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { BivouacError } from '../errors.ts';

/**
 * The bundle format: one tar file (gzip-compressed or not) holding `manifest.yaml`, the app's
 * modules, its icon and screenshots, optional base images, and two files that make it
 * trustworthy: `CHECKSUMS` (a sha256 and a path per line, for every other file) and
 * `SIGNATURE` (JSON: the publisher's key id and an ed25519 signature of CHECKSUMS). A bundle is
 * only believed once every file matches CHECKSUMS exactly — nothing missing, nothing extra — and
 * the signature is by a trusted publisher.
 */

export const checksumsFile = 'CHECKSUMS';
export const signatureFile = 'SIGNATURE';

export interface BundleLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

export const defaultLimits: BundleLimits = { maxEntries: 2000, maxFileBytes: 32 * 1024 ** 3, maxTotalBytes: 64 * 1024 ** 3 };

/** A file extracted into the staging folder. */
export interface StagedFile {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface PublisherKey {
  /** The first 16 hex digits of the sha256 of the raw public key. */
  keyId: string;
  /** The raw 32-byte ed25519 public key, base64. */
  publicKey: string;
}

export interface SigningKey extends PublisherKey {
  privateKeyPem: string;
}

export type Verdict = { signed: true; publisher: PublisherKey } | { signed: false; reason: string };

/** Entry names: relative, forward slashes, plain characters, no `.` or `..` segments. */
const safePath = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

function refused(message: string, details: Record<string, unknown> = {}): BivouacError {
  return new BivouacError('BAD_BUNDLE', message, details);
}

/**
 * Extracts a bundle into `staging` (which must be empty and private), refusing at the first
 * entry that is not a plain file or folder, whose name is absolute or climbs out, or that breaks
 * the size and count limits. Every file's sha256 is computed on the way.
 */
export async function stageBundle(input: Readable, staging: string, limits: BundleLimits = defaultLimits): Promise<Map<string, StagedFile>> {
  const files = new Map<string, StagedFile>();
  let entries = 0;
  let total = 0;
  const untar = extract();
  const source = await maybeGunzip(input);
  const done = new Promise<void>((resolve, reject) => {
    untar.on('entry', (header, stream, next) => {
      // The entry stream dies with the extractor on a refusal; the extractor reports it.
      stream.on('error', () => undefined);
      const fail = (error: BivouacError): void => {
        stream.resume();
        untar.destroy(error);
      };
      entries += 1;
      const name = header.name.replace(/^\.\//, '').replace(/\/$/, '');
      if (entries > limits.maxEntries) return fail(refused(`The bundle has more than ${limits.maxEntries} entries.`, { limit: limits.maxEntries }));
      if (header.type === 'directory') {
        if (name !== '' && !safePath.test(name)) return fail(refused(`Entry "${header.name}" has a name that is not allowed (absolute, "..", or unusual characters).`, { entry: header.name }));
        stream.resume();
        return next();
      }
      if (header.type !== 'file') return fail(refused(`Entry "${header.name}" is a ${header.type}; bundles hold only plain files and folders.`, { entry: header.name, type: header.type }));
      if (!safePath.test(name)) return fail(refused(`Entry "${header.name}" has a name that is not allowed (absolute, "..", or unusual characters).`, { entry: header.name }));
      if (files.has(name)) return fail(refused(`Entry "${name}" appears twice.`, { entry: name }));
      const size = header.size ?? 0;
      if (size > limits.maxFileBytes) return fail(refused(`Entry "${name}" is ${size} bytes; at most ${limits.maxFileBytes} are allowed.`, { entry: name, limit: limits.maxFileBytes }));
      total += size;
      if (total > limits.maxTotalBytes) return fail(refused(`The bundle unpacks to more than ${limits.maxTotalBytes} bytes.`, { limit: limits.maxTotalBytes }));
      const target = join(staging, name);
      const hash = createHash('sha256');
      const hasher = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          callback(null, chunk);
        },
      });
      mkdir(dirname(target), { recursive: true, mode: 0o700 })
        .then(() => pipeline(stream, hasher, createWriteStream(target, { flags: 'wx', mode: 0o600 })))
        .then(() => {
          files.set(name, { path: name, sizeBytes: size, sha256: hash.digest('hex') });
          next();
        })
        .catch((error: unknown) => untar.destroy(error as Error));
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
  }
  return files;
}

/** Gzip is detected by its magic number, so both .tar and .tar.gz bundles are read. */
async function maybeGunzip(input: Readable): Promise<Readable> {
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
    return rest.pipe(gunzip);
  }
  return rest;
}

/** Checks a staged bundle against its CHECKSUMS and SIGNATURE and the trusted keys. */
export async function verifyBundle(staging: string, files: Map<string, StagedFile>, trusted: readonly PublisherKey[]): Promise<Verdict> {
  const checksums = files.get(checksumsFile);
  if (!checksums) throw refused('The bundle has no CHECKSUMS file.');
  const listed = parseChecksums(await readFile(join(staging, checksumsFile), 'utf8'));
  const payload = [...files.keys()].filter((name) => name !== checksumsFile && name !== signatureFile);
  for (const name of payload) {
    const expected = listed.get(name);
    if (!expected) throw refused(`"${name}" is in the bundle but not in CHECKSUMS.`, { entry: name });
    if (expected !== files.get(name)!.sha256) throw refused(`"${name}" does not match CHECKSUMS: the bundle was altered or damaged.`, { entry: name });
  }
  for (const name of listed.keys()) if (!files.has(name)) throw refused(`"${name}" is listed in CHECKSUMS but missing from the bundle.`, { entry: name });

  if (!files.has(signatureFile)) return { signed: false, reason: 'the bundle has no SIGNATURE' };
  let signature: { publisher?: unknown; algorithm?: unknown; signature?: unknown };
  try {
    signature = JSON.parse(await readFile(join(staging, signatureFile), 'utf8')) as typeof signature;
  } catch {
    throw refused('SIGNATURE is not valid JSON.');
  }
  if (signature.algorithm !== 'ed25519' || typeof signature.publisher !== 'string' || typeof signature.signature !== 'string') {
    throw refused('SIGNATURE must be {"publisher": key id, "algorithm": "ed25519", "signature": base64}.');
  }
  const key = trusted.find((candidate) => candidate.keyId === signature.publisher);
  if (!key) return { signed: false, reason: `signed by ${signature.publisher}, which is not a trusted publisher` };
  const valid = verify(null, await readFile(join(staging, checksumsFile)), publicKeyObject(key.publicKey), Buffer.from(signature.signature, 'base64'));
  if (!valid) throw refused(`The signature does not match: the bundle was altered after ${key.keyId} signed it.`, { publisher: key.keyId });
  return { signed: true, publisher: key };
}

export function parseChecksums(text: string): Map<string, string> {
  const listed = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!match || !safePath.test(match[2]!)) throw refused(`CHECKSUMS line ${index + 1} is not "<sha256>  <path>".`, { line: index + 1 });
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
export async function writeBundle(output: Writable, entries: readonly BundleEntry[], signer: SigningKey | null): Promise<void> {
  const sums: string[] = [];
  for (const entry of [...entries].sort((a, b) => a.path.localeCompare(b.path))) {
    if (!safePath.test(entry.path)) throw new Error(`bug: unsafe bundle path ${entry.path}`);
    sums.push(`${'data' in entry ? createHash('sha256').update(entry.data).digest('hex') : await hashFile(entry.file)}  ${entry.path}`);
  }
  const checksums = Buffer.from(`${sums.join('\n')}\n`);
  const tar = pack();
  const written = pipeline(tar, createGzip(), output);
  const mtime = new Date(0);
  for (const entry of entries) {
    if ('data' in entry) {
      tar.entry({ name: entry.path, size: entry.data.length, mode: 0o644, mtime }, entry.data);
    } else {
      const size = (await stat(entry.file)).size;
      const sink = tar.entry({ name: entry.path, size, mode: 0o644, mtime });
      await pipeline(createReadStream(entry.file), sink);
    }
  }
  tar.entry({ name: checksumsFile, mode: 0o644, mtime }, checksums);
  if (signer) {
    const signature = sign(null, checksums, createPrivateKey(signer.privateKeyPem)).toString('base64');
    tar.entry({ name: signatureFile, mode: 0o644, mtime }, JSON.stringify({ publisher: signer.keyId, algorithm: 'ed25519', signature }));
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
  return { ...publisherOf(publicKey), privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

function publisherOf(publicKey: KeyObject): PublisherKey {
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return { keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16), publicKey: raw.toString('base64') };
}

/** A publisher key from its raw base64 form, checked. */
export function publisherKey(rawBase64: string): PublisherKey {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32) throw new BivouacError('VALIDATION_FAILED', 'A publisher key is the base64 of a raw 32-byte ed25519 public key.', { fields: [{ field: 'publicKey', message: 'must be 32 bytes, base64' }] });
  return publisherOf(publicKeyObject(rawBase64));
}

function publicKeyObject(rawBase64: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(rawBase64, 'base64').toString('base64url') }, format: 'jwk' });
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { byCodePoint } from '../domain/order.ts';
import { checksumsFile, manifestFile, safePath, sha256Of, signatureFile } from './bundle-format.ts';
import { signatureOf, type SigningKey } from './bundle-signature.ts';

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
      `${'data' in entry ? sha256Of(entry.data) : await hashFile(entry.file)}  ${entry.path}`,
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
  if (signer)
    tar.entry({ name: signatureFile, mode: 0o644, mtime }, signatureOf(checksums, signer));
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

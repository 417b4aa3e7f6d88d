import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Header as TarHeaders } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { newSigningKey, stageBundle, verifyBundle, writeBundle, type BundleEntry } from '../../appliance/src/catalog/bundle.ts';
import { tempDir } from '../fixtures/appliance.ts';

const key = newSigningKey();
const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];

async function bundleFile(entries: BundleEntry[], signer = key): Promise<string> {
  const path = join(await tempDir(), 'app.bvc');
  await writeBundle(createWriteStream(path), entries, signer);
  return path;
}

/** A hand-made tar, for bundles no honest writer would produce. */
async function rawTar(entries: (Partial<TarHeaders> & { name: string; body?: string })[]): Promise<string> {
  const path = join(await tempDir(), 'evil.tar');
  const tar = pack();
  const written = pipeline(tar, createWriteStream(path));
  for (const { body, ...header } of entries) tar.entry(header, body ?? '');
  tar.finalize();
  await written;
  return path;
}

async function stage(path: string, limits?: Parameters<typeof stageBundle>[2]) {
  const staging = await tempDir('bivouac-staging-');
  const files = await stageBundle(createReadStream(path), staging, limits);
  return { staging, files };
}

describe('bundles', () => {
  it('round-trips: written, signed, staged and verified', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'disk.qcow2'), Buffer.alloc(300_000, 7));
    const path = await bundleFile([
      { path: 'manifest.yaml', data: Buffer.from('format: 1\n') },
      { path: 'images/tiny/disk.qcow2', file: join(dir, 'disk.qcow2') },
    ]);
    const { staging, files } = await stage(path);
    expect([...files.keys()].sort()).toEqual(['CHECKSUMS', 'SIGNATURE', 'images/tiny/disk.qcow2', 'manifest.yaml']);
    expect(files.get('images/tiny/disk.qcow2')?.sizeBytes).toBe(300_000);
    expect(await verifyBundle(staging, files, trusted)).toEqual({ signed: true, publisher: trusted[0] });
    expect(await verifyBundle(staging, files, [])).toEqual({ signed: false, reason: `signed by ${key.keyId}, which is not a trusted publisher` });
  });

  it('refuses a bundle whose files were altered after signing', async () => {
    const honest = await stage(await bundleFile([{ path: 'manifest.yaml', data: Buffer.from('format: 1\n') }]));
    const checksums = await readFile(join(honest.staging, 'CHECKSUMS'), 'utf8');
    const signature = await readFile(join(honest.staging, 'SIGNATURE'), 'utf8');
    const content = await stage(await rawTar([{ name: 'manifest.yaml', body: 'format: 1\nextra: evil\n' }, { name: 'CHECKSUMS', body: checksums }, { name: 'SIGNATURE', body: signature }]));
    await expect(verifyBundle(content.staging, content.files, trusted)).rejects.toThrow('"manifest.yaml" does not match CHECKSUMS');

    const forged = `${createHash('sha256').update('format: 1\nextra: evil\n').digest('hex')}  manifest.yaml\n`;
    const resigned = await stage(await rawTar([{ name: 'manifest.yaml', body: 'format: 1\nextra: evil\n' }, { name: 'CHECKSUMS', body: forged }, { name: 'SIGNATURE', body: signature }]));
    await expect(verifyBundle(resigned.staging, resigned.files, trusted)).rejects.toThrow(`The signature does not match: the bundle was altered after ${key.keyId} signed it.`);

    const extra = await stage(await rawTar([{ name: 'manifest.yaml', body: 'format: 1\n' }, { name: 'extra.sh', body: 'rm -rf /' }, { name: 'CHECKSUMS', body: checksums }]));
    await expect(verifyBundle(extra.staging, extra.files, trusted)).rejects.toThrow('"extra.sh" is in the bundle but not in CHECKSUMS');
  });

  it.each([
    ['a parent-directory escape', [{ name: '../evil', body: 'x' }], /name that is not allowed/],
    ['a nested escape', [{ name: 'a/../../evil', body: 'x' }], /name that is not allowed/],
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /name that is not allowed/],
    ['a symbolic link', [{ name: 'link', type: 'symlink' as const, linkname: '/etc/passwd' }], /is a symlink; bundles hold only plain files/],
    ['a hard link', [{ name: 'link', type: 'link' as const, linkname: 'manifest.yaml' }], /is a link; bundles hold only plain files/],
    ['a device file', [{ name: 'dev', type: 'character-device' as const, devmajor: 1, devminor: 3 }], /is a character-device/],
    ['a duplicate entry', [{ name: 'a', body: '1' }, { name: 'a', body: '2' }], /appears twice/],
  ])('refuses %s, writing nothing outside the staging folder', async (_label, entries, message) => {
    const parent = await tempDir('bivouac-parent-');
    const staging = join(parent, 'staging');
    await mkdir(staging);
    await expect(stageBundle(createReadStream(await rawTar(entries)), staging)).rejects.toThrow(message);
    expect(await readdir(parent)).toEqual(['staging']);
  });

  it('enforces size and entry-count limits, and refuses what is not a tar file', async () => {
    const big = await rawTar([{ name: 'big', body: 'x'.repeat(2000) }]);
    await expect(stage(big, { maxEntries: 10, maxFileBytes: 1000, maxTotalBytes: 10_000 })).rejects.toThrow('Entry "big" is 2000 bytes; at most 1000 are allowed.');
    const many = await rawTar(Array.from({ length: 12 }, (_, i) => ({ name: `f${i}`, body: 'x' })));
    await expect(stage(many, { maxEntries: 10, maxFileBytes: 1000, maxTotalBytes: 10_000 })).rejects.toThrow('more than 10 entries');
    const total = await rawTar(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: 'x'.repeat(900) })));
    await expect(stage(total, { maxEntries: 10, maxFileBytes: 1000, maxTotalBytes: 4000 })).rejects.toThrow('unpacks to more than 4000 bytes');
    const staging = await tempDir();
    await expect(stageBundle(Readable.from([Buffer.from('this is not a tar file at all, just text '.repeat(40))]), staging)).rejects.toMatchObject({ code: 'BAD_BUNDLE' });
  });
});

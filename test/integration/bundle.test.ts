import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Header as TarHeaders } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import {
  checksumsFile,
  defaultLimits,
  newSigningKey,
  readBundle,
  writeBundle,
  type BundleEntry,
  type BundleLimits,
} from '../../appliance/src/catalog/bundle.ts';
import { tempDir } from '../fixtures/appliance.ts';

const key = newSigningKey();
const trusted = [{ keyId: key.keyId, publicKey: key.publicKey }];

async function bundleFile(entries: BundleEntry[], signer = key): Promise<string> {
  const path = join(await tempDir(), 'app.bvc');
  await writeBundle(createWriteStream(path), entries, signer);
  return path;
}

/** A hand-made tar, for bundles no honest writer would produce. */
async function rawTar(
  entries: (Partial<TarHeaders> & { name: string; body?: string })[],
): Promise<string> {
  const path = join(await tempDir(), 'evil.tar');
  const tar = pack();
  const written = pipeline(tar, createWriteStream(path));
  for (const { body, ...header } of entries) tar.entry(header, body ?? '');
  tar.finalize();
  await written;
  return path;
}

/** CHECKSUMS over `files`, as the writer makes it. */
function checksumsOf(files: Record<string, string>): string {
  return Object.entries(files)
    .map(([name, body]) => `${createHash('sha256').update(body).digest('hex')}  ${name}\n`)
    .join('');
}

/** A tar that starts as the reader wants (CHECKSUMS, then manifest.yaml), unsigned, then `rest`. */
async function headedTar(
  rest: (Partial<TarHeaders> & { name: string; body?: string })[],
  listed: Record<string, string> = {},
): Promise<string> {
  const manifest = 'format: 1\n';
  return rawTar([
    { name: checksumsFile, body: checksumsOf({ 'manifest.yaml': manifest, ...listed }) },
    { name: 'manifest.yaml', body: manifest },
    ...rest,
  ]);
}

async function stage(
  path: string,
  limits?: Partial<BundleLimits>,
  inMemory: ReadonlyMap<string, number> = new Map(),
) {
  const staging = await tempDir('bivouac-staging-');
  const read = await readBundle(createReadStream(path), staging, {
    trusted,
    limits: { ...defaultLimits, ...limits },
    spaceLeft: async () => 1024 ** 4,
    admit: async () => ({ inMemory }),
  });
  return { staging, ...read };
}

describe('bundles', () => {
  it('round-trips: written, signed, read and verified', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'disk.qcow2'), Buffer.alloc(300_000, 7));
    const path = await bundleFile([
      { path: 'images/tiny/disk.qcow2', file: join(dir, 'disk.qcow2') },
      { path: 'modules.yaml', data: Buffer.from('[]\n') },
      { path: 'manifest.yaml', data: Buffer.from('format: 1\n') },
    ]);
    const read = await stage(path, {}, new Map([['modules.yaml', 1024]]));
    expect([...read.files.keys()]).toEqual(['images/tiny/disk.qcow2']);
    expect(read.files.get('images/tiny/disk.qcow2')?.sizeBytes).toBe(300_000);
    expect(read.inMemory.get('modules.yaml')?.toString()).toBe('[]\n');
    expect(read.manifest.toString()).toBe('format: 1\n');
    expect(read.verdict).toEqual({ signed: true, publisher: trusted[0] });
    expect(await readdir(read.staging)).toEqual(['images']);
    const untrusted = await readBundle(createReadStream(path), await tempDir(), {
      trusted: [],
      spaceLeft: async () => 1024 ** 4,
      admit: async () => ({ inMemory: new Map() }),
    });
    expect(untrusted.verdict).toEqual({
      signed: false,
      reason: `signed by ${key.keyId}, which is not a trusted publisher`,
    });
  });

  it('refuses a bundle whose files were altered after signing', async () => {
    const honest = await bundleFile([{ path: 'manifest.yaml', data: Buffer.from('format: 1\n') }]);
    const entries: Record<string, string> = {};
    const { extract } = await import('tar-stream');
    const reader = extract();
    reader.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        entries[header.name] = Buffer.concat(chunks).toString();
        next();
      });
    });
    await pipeline(createReadStream(honest), (await import('node:zlib')).createGunzip(), reader);
    const { CHECKSUMS: checksums, SIGNATURE: signature } = entries as {
      CHECKSUMS: string;
      SIGNATURE: string;
    };
    await expect(
      stage(
        await rawTar([
          { name: 'CHECKSUMS', body: checksums },
          { name: 'SIGNATURE', body: signature },
          { name: 'manifest.yaml', body: 'format: 1\nextra: evil\n' },
        ]),
      ),
    ).rejects.toThrow('"manifest.yaml" does not match CHECKSUMS');

    const forged = `${createHash('sha256').update('format: 1\nextra: evil\n').digest('hex')}  manifest.yaml\n`;
    await expect(
      stage(
        await rawTar([
          { name: 'CHECKSUMS', body: forged },
          { name: 'SIGNATURE', body: signature },
          { name: 'manifest.yaml', body: 'format: 1\nextra: evil\n' },
        ]),
      ),
    ).rejects.toThrow(
      `The signature does not match: the bundle was altered after ${key.keyId} signed it.`,
    );

    await expect(
      stage(
        await rawTar([
          { name: 'CHECKSUMS', body: checksums },
          { name: 'SIGNATURE', body: signature },
          { name: 'manifest.yaml', body: 'format: 1\n' },
          { name: 'extra.sh', body: 'rm -rf /' },
        ]),
      ),
    ).rejects.toThrow('"extra.sh" is in the bundle but not in CHECKSUMS');
    await expect(stage(await headedTar([], { 'icon.svg': '<svg/>' }))).rejects.toThrow(
      '"icon.svg" is listed in CHECKSUMS but missing from the bundle.',
    );
    await expect(
      stage(
        await headedTar([{ name: 'icon.svg', body: '<svg onload=x/>' }], { 'icon.svg': '<svg/>' }),
      ),
    ).rejects.toThrow('"icon.svg" does not match CHECKSUMS');
  });

  it('refuses a bundle whose CHECKSUMS, SIGNATURE and manifest.yaml do not come first', async () => {
    const manifest = 'format: 1\n';
    await expect(
      stage(
        await rawTar([
          { name: 'manifest.yaml', body: manifest },
          { name: 'CHECKSUMS', body: checksumsOf({ 'manifest.yaml': manifest }) },
        ]),
      ),
    ).rejects.toThrow('The bundle must start with CHECKSUMS');
    await expect(
      stage(
        await rawTar([
          { name: 'CHECKSUMS', body: checksumsOf({ 'manifest.yaml': manifest, 'a.txt': 'a' }) },
          { name: 'a.txt', body: 'a' },
          { name: 'manifest.yaml', body: manifest },
        ]),
      ),
    ).rejects.toThrow(
      'manifest.yaml must follow CHECKSUMS and SIGNATURE in the bundle; "a.txt" comes first.',
    );
    await expect(stage(await headedTar([{ name: 'SIGNATURE', body: '{}' }]))).rejects.toThrow(
      'SIGNATURE must come before manifest.yaml and the other files.',
    );
    await expect(stage(await rawTar([]))).rejects.toThrow('The bundle has no CHECKSUMS file.');
    await expect(stage(await rawTar([{ name: 'CHECKSUMS', body: '' }]))).rejects.toThrow(
      'The bundle has no manifest.yaml.',
    );
  });

  it.each([
    ['a parent-directory escape', [{ name: '../evil', body: 'x' }], /name that is not allowed/],
    ['a nested escape', [{ name: 'a/../../evil', body: 'x' }], /name that is not allowed/],
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /name that is not allowed/],
    [
      'a symbolic link',
      [{ name: 'link', type: 'symlink' as const, linkname: '/etc/passwd' }],
      /is a symlink; bundles hold only plain files/,
    ],
    [
      'a hard link',
      [{ name: 'link', type: 'link' as const, linkname: 'manifest.yaml' }],
      /is a link; bundles hold only plain files/,
    ],
    [
      'a device file',
      [{ name: 'dev', type: 'character-device' as const, devmajor: 1, devminor: 3 }],
      /is a character-device/,
    ],
    [
      'a duplicate entry',
      [
        { name: 'a', body: '1' },
        { name: 'a', body: '2' },
      ],
      /appears twice/,
    ],
  ])('refuses %s, writing nothing outside the staging folder', async (_label, entries, message) => {
    const parent = await tempDir('bivouac-parent-');
    const staging = join(parent, 'staging');
    await mkdir(staging);
    const path = await headedTar(entries, { a: '1' });
    await expect(
      readBundle(createReadStream(path), staging, {
        trusted,
        spaceLeft: async () => 1024 ** 4,
        admit: async () => ({ inMemory: new Map() }),
      }),
    ).rejects.toThrow(message);
    expect(await readdir(parent)).toEqual(['staging']);
  });

  it('enforces size and entry-count limits, and refuses what is not a tar file', async () => {
    const small = { maxEntries: 10, maxFileBytes: 1000, maxTotalBytes: 10_000 };
    const big = await headedTar([{ name: 'big', body: 'x'.repeat(2000) }], {
      big: 'x'.repeat(2000),
    });
    await expect(stage(big, small)).rejects.toThrow(
      'Entry "big" is 2000 bytes; at most 1000 are allowed.',
    );
    const files = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`f${i}`, 'x']));
    const many = await headedTar(
      Object.entries(files).map(([name, body]) => ({ name, body })),
      files,
    );
    await expect(stage(many, small)).rejects.toThrow('more than 10 entries');
    const large = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`f${i}`, 'x'.repeat(900)]),
    );
    const total = await headedTar(
      Object.entries(large).map(([name, body]) => ({ name, body })),
      large,
    );
    await expect(stage(total, { ...small, maxTotalBytes: 4000 })).rejects.toThrow(
      'unpacks to more than 4000 bytes',
    );
    await expect(
      stage(
        await headedTar([{ name: 'modules.yaml', body: 'x'.repeat(2000) }], {
          'modules.yaml': 'x'.repeat(2000),
        }),
        {},
        new Map([['modules.yaml', 1000]]),
      ),
    ).rejects.toThrow('modules.yaml is 2000 bytes; at most 1000 are allowed.');
    const staging = await tempDir();
    await expect(
      readBundle(
        Readable.from([Buffer.from('this is not a tar file at all, just text '.repeat(40))]),
        staging,
        { trusted, spaceLeft: async () => 1024 ** 4, admit: async () => ({ inMemory: new Map() }) },
      ),
    ).rejects.toMatchObject({ code: 'BAD_BUNDLE' });
  });
});

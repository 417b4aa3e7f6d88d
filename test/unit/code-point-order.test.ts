import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { checksumsFile, writeBundle } from '../../appliance/src/catalog/bundle.ts';
import { sameRules } from '../../appliance/src/domain/access.ts';
import { byCodePoint } from '../../appliance/src/domain/order.ts';

/** Paths whose code-point order differs from a locale's (case and punctuation). */
const paths = ['b.yaml', 'B.yaml', 'a-b.yaml', 'a.b.yaml', 'a_b.yaml'];
const codePointOrder = ['B.yaml', 'a-b.yaml', 'a.b.yaml', 'a_b.yaml', 'b.yaml'];

async function checksumsOf(bundle: Buffer): Promise<string> {
  const untar = extract();
  let text = '';
  untar.on('entry', (header, stream, next) => {
    void buffer(stream).then((data) => {
      if (header.name === checksumsFile) text = data.toString('utf8');
      next();
    });
  });
  const done = new Promise<void>((resolve) => untar.on('finish', () => resolve()));
  untar.end(gunzipSync(bundle));
  await done;
  return text;
}

describe('code-point order', () => {
  it('orders by code point, the same on every box, where a locale would not', () => {
    expect([...paths].sort(byCodePoint)).toEqual(codePointOrder);
    expect([...paths].sort((a, b) => a.localeCompare(b))).not.toEqual(codePointOrder);
    expect(['ä', 'b', 'a'].sort(byCodePoint)).toEqual(['a', 'b', 'ä']);
  });

  it("lists a bundle's checksums in it, so a bundle's bytes do not depend on the box's locale", async () => {
    const output = new PassThrough();
    const bytes = buffer(output);
    await writeBundle(
      output,
      paths.map((path) => ({ path, data: Buffer.from(path) })),
      null,
    );
    const listed = (await checksumsOf(await bytes))
      .trim()
      .split('\n')
      .map((line) => line.split('  ')[1]);
    expect(listed).toEqual(codePointOrder);
  });

  it('makes the canonical form of ACL rules', () => {
    expect(
      sameRules(
        [{ subject: 'user', id: 'u1', allow: ['read', 'deploy'] }] as never,
        [{ allow: ['deploy', 'read'], id: 'u1', subject: 'user' }] as never,
      ),
    ).toBe(true);
  });
});

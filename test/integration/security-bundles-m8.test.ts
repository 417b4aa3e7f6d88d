import { createHash, createPrivateKey, sign } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { SigningKey } from '../../appliance/src/catalog/bundle.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import {
  closeBundleBox,
  importBundle,
  openBundleBox,
  trustPublisher,
} from '../fixtures/bundle-box.ts';
import { acme, bundle, image, sha256, signedHead, tarBytes } from '../fixtures/hostile-bundles.ts';

/**
 * Bundles are judged before they reach the disk (M8): a bundle signed wrongly, too large for the
 * free space, with oversized parts or packed as a gzip bomb is refused before any file of it is
 * written. Hand-made bundles (test/fixtures/hostile-bundles.ts), uploaded through a real loopback
 * port where the test must hold an upload open.
 */
describe('bundles judged before they reach the disk (M8)', () => {
  let box: TestAppliance;
  let admin: Client;
  let appsDir: string;

  beforeEach(async () => {
    ({ box, admin, appsDir } = await openBundleBox());
  });
  afterEach(() => closeBundleBox(box));

  // The box's own, not a fixture's: a test here replaces the box part way.
  const trust = (name: string, key: SigningKey, appIds: string[]) =>
    trustPublisher(box, admin, name, key, appIds);
  const importPath = (path: string) => importBundle(box, admin, path);

  /**
   * Sends `head` as the start of an upload over a real loopback port and holds the request open,
   * watching the staging folders: the answer must come while the rest of the bundle is unsent,
   * and no file of the bundle may have been written meanwhile.
   */
  async function holdUpload(
    head: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{
    status: number | null;
    body: { error?: { code: string; message: string } } | null;
    connection?: string | undefined;
    staged: string[];
  }> {
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = box.app.server.address() as AddressInfo;
    const staged = new Set<string>();
    let answered = false;
    const watcher = (async () => {
      while (!answered) {
        for (const folder of (await readdir(appsDir).catch(() => [])).filter((name) =>
          name.startsWith('.staging-'),
        )) {
          for (const file of await readdir(join(appsDir, folder), { recursive: true }).catch(
            () => [],
          )) {
            if ((await stat(join(appsDir, folder, file)).catch(() => null))?.isFile())
              staged.add(file);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const answer = await new Promise<{
      status: number | null;
      body: { error?: { code: string; message: string } } | null;
      connection?: string | undefined;
    }>((resolve) => {
      const sent = request(
        {
          host: '127.0.0.1',
          port,
          agent: false,
          method: 'POST',
          path: '/api/v1/apps/upload',
          headers: {
            ...as(admin),
            'content-type': 'application/octet-stream',
            'transfer-encoding': 'chunked',
            ...headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            resolve({
              status: response.statusCode ?? null,
              body: JSON.parse(Buffer.concat(chunks).toString() || 'null') as {
                error?: { code: string; message: string };
              } | null,
              connection: response.headers.connection,
            });
            sent.destroy();
          });
        },
      );
      sent.on('error', () => resolve({ status: null, body: null }));
      sent.write(head);
      // Without an answer while the upload is held open, the bundle was not judged in time.
      setTimeout(() => {
        sent.destroy();
        resolve({ status: null, body: null });
      }, 4000);
    });
    answered = true;
    await watcher;
    return { ...answer, staged: [...staged] };
  }

  it('M8: a bundle whose signature does not match is refused before any file of it is written to disk', async () => {
    const manifest = stringify({
      format: 1,
      app: {
        id: 'acme-crm',
        version: '1.0.0',
        title: 'CRM',
        summary: 'Customers',
        publisher: 'Acme',
      },
      deploy: { module: '/apps/acme-crm/web' },
    });
    const payload = Buffer.alloc(4 * 1024 ** 2, 7);
    const files = { 'manifest.yaml': manifest, 'modules.yaml': 'x', 'images/big.bin': payload };
    const honest = signedHead(files);
    // CHECKSUMS altered after signing: the payload is not what the publisher signed.
    const altered = honest.checksums.replace(sha256(payload), sha256('something else'));
    const head = await tarBytes([
      { name: 'CHECKSUMS', body: altered },
      { name: 'SIGNATURE', body: honest.signature },
      { name: 'manifest.yaml', body: manifest },
      { name: 'images/big.bin', body: payload.subarray(0, 1024 ** 2), size: payload.length },
    ]);
    const answer = await holdUpload(head);
    expect(answer.body?.error).toMatchObject({
      code: 'BAD_BUNDLE',
      message: `The signature does not match: the bundle was altered after ${acme.keyId} signed it.`,
    });
    expect(answer.staged).toEqual([]);
    // The rest of the upload is not read: the connection closes after the answer.
    expect(answer.connection).toBe('close');
    expect((await readdir(appsDir)).filter((name) => name.startsWith('.staging-'))).toEqual([]);
  });

  it('M8: a bundle larger than the free space is refused before it is extracted', async () => {
    const reserve = 1024 ** 3;
    box.services.images['options'].freeBytes = async () => reserve + 64 * 1024 ** 2; // 64 MiB may still be written
    const manifest = stringify({
      format: 1,
      app: {
        id: 'acme-crm',
        version: '1.0.0',
        title: 'CRM',
        summary: 'Customers',
        publisher: 'Acme',
      },
      deploy: { module: '/apps/acme-crm/web' },
    });
    const bigSize = 512 * 1024 ** 2;
    const head = signedHead({
      'manifest.yaml': manifest,
      'modules.yaml': 'never sent',
      'images/big.bin': 'never sent whole',
    });
    const answer = await holdUpload(
      await tarBytes([
        { name: 'CHECKSUMS', body: head.checksums },
        { name: 'SIGNATURE', body: head.signature },
        { name: 'manifest.yaml', body: manifest },
        { name: 'images/big.bin', body: Buffer.alloc(1024 ** 2), size: bigSize },
      ]),
    );
    expect(answer.body?.error, JSON.stringify(answer.body)).toMatchObject({
      code: 'NO_SPACE',
      details: { entry: 'images/big.bin', neededBytes: bigSize },
    });
    expect(answer.staged).toEqual([]);

    // A bundle announced larger than the space left is refused before a byte of it is read.
    box.services.images['options'].freeBytes = async () => reserve + 100;
    const path = await bundle();
    expect((await stat(path)).size).toBeGreaterThan(100);
    expect((await importPath(path)).json()).toMatchObject({
      error: { code: 'NO_SPACE', details: { reserveBytes: reserve } },
    });
    expect(box.services.store.data.apps).toEqual([]);
  });

  it('M8: an oversized CHECKSUMS, manifest.yaml or modules.yaml is refused from its header, without being read', async () => {
    const oversized = 2 * 1024 ** 2;
    const checksums = await holdUpload(
      await tarBytes([{ name: 'CHECKSUMS', body: 'a'.repeat(1024), size: oversized }]),
    );
    expect(checksums.body?.error).toMatchObject({
      code: 'BAD_BUNDLE',
      message: `CHECKSUMS is ${oversized} bytes; at most ${1024 ** 2} are allowed.`,
    });
    expect(checksums.staged).toEqual([]);
    await box.close();

    box = await makeAppliance({ appsDir });
    admin = await setupAdmin(box.app);
    await trust('Acme', acme, ['acme-*']);
    const head = signedHead({ 'manifest.yaml': 'format: 1\n' });
    const manifest = await holdUpload(
      await tarBytes([
        { name: 'CHECKSUMS', body: head.checksums },
        { name: 'SIGNATURE', body: head.signature },
        { name: 'manifest.yaml', body: 'format: 1\n', size: oversized },
      ]),
    );
    expect(manifest.body?.error).toMatchObject({
      code: 'BAD_BUNDLE',
      message: `manifest.yaml is ${oversized} bytes; at most ${1024 ** 2} are allowed.`,
    });
    expect(manifest.staged).toEqual([]);
    await box.close();

    box = await makeAppliance({ appsDir });
    admin = await setupAdmin(box.app);
    await trust('Acme', acme, ['acme-*']);
    const text = stringify({
      format: 1,
      app: {
        id: 'acme-crm',
        version: '1.0.0',
        title: 'CRM',
        summary: 'Customers',
        publisher: 'Acme',
      },
      deploy: { module: '/apps/acme-crm/web' },
    });
    const withModules = signedHead({ 'manifest.yaml': text, 'modules.yaml': 'never sent whole' });
    const modules = await holdUpload(
      await tarBytes([
        { name: 'CHECKSUMS', body: withModules.checksums },
        { name: 'SIGNATURE', body: withModules.signature },
        { name: 'manifest.yaml', body: text },
        { name: 'modules.yaml', body: 'path: /apps/acme-crm/web\n', size: 5 * 1024 ** 2 },
      ]),
    );
    expect(modules.body?.error).toMatchObject({
      code: 'BAD_BUNDLE',
      message: `modules.yaml is ${5 * 1024 ** 2} bytes; at most ${4 * 1024 ** 2} are allowed.`,
    });
    expect(modules.staged).toEqual([]);
  });

  it('M8: a gzip bomb stops at the unpacking ratio', async () => {
    const zeros = 256 * 1024 ** 2;
    const modules = stringify({ path: '/apps/acme-crm/web', content: image('x') });
    const manifest = stringify({
      format: 1,
      app: {
        id: 'acme-crm',
        version: '1.0.0',
        title: 'CRM',
        summary: 'Customers',
        publisher: 'Acme',
      },
      deploy: { module: '/apps/acme-crm/web' },
    });
    const zeroHash = createHash('sha256');
    const block = Buffer.alloc(1024 ** 2);
    for (let written = 0; written < zeros; written += block.length) zeroHash.update(block);
    const files: Record<string, string> = { 'manifest.yaml': manifest, 'modules.yaml': modules };
    const head = signedHead({ ...files, 'zeros.bin': '' });
    const checksums = head.checksums.replace(sha256(''), zeroHash.digest('hex'));
    const signature = JSON.stringify({
      publisher: acme.keyId,
      algorithm: 'ed25519',
      signature: sign(null, Buffer.from(checksums), createPrivateKey(acme.privateKeyPem)).toString(
        'base64',
      ),
    });
    const path = join(await tempDir('bivouac-usb-'), 'bomb.bvc');
    const tar = pack();
    const written = pipeline(tar, createGzip({ level: 1 }), createWriteStream(path));
    tar.entry({ name: 'CHECKSUMS' }, checksums);
    tar.entry({ name: 'SIGNATURE' }, signature);
    tar.entry({ name: 'manifest.yaml' }, manifest);
    tar.entry({ name: 'modules.yaml' }, modules);
    const sink = tar.entry({ name: 'zeros.bin', size: zeros });
    for (let sent = 0; sent < zeros; sent += block.length)
      if (!sink.write(block))
        await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    sink.end(Buffer.alloc(0));
    tar.finalize();
    await written;
    expect((await stat(path)).size).toBeLessThan(zeros / 100);

    const answer = await importPath(path);
    expect(answer.json()).toMatchObject({
      error: {
        code: 'BAD_BUNDLE',
        message: expect.stringContaining('refused as a compression bomb'),
        details: { ratio: 100 },
      },
    });
    expect(box.services.store.data.apps).toEqual([]);
  });
});

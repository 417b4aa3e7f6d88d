import { createHash, createPrivateKey, sign } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  newSigningKey,
  writeBundle,
  type BundleEntry,
  type SigningKey,
} from '../../appliance/src/catalog/bundle.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { importPlaceholderImage } from '../fixtures/guest-stand-in.ts';
import { migrations } from '../../appliance/migrations/index.ts';
import { canAccess } from '../../appliance/src/domain/access.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';

/**
 * Bundles are bound to their publisher (H4), and judged before they reach the disk (M8): bundles
 * made by hand as a hostile publisher would, through the public API (and a real loopback port
 * where the test must hold an upload open).
 */

const acme = newSigningKey();
const other = newSigningKey();

interface BundleSpec {
  id?: string;
  version?: string;
  publisher?: string;
  /** The bundle's modules, by path; the first is what it deploys. Default: one image in the app's folder. */
  modules?: { path: string; content: Record<string, unknown> }[];
  extra?: BundleEntry[];
  signer?: SigningKey | null;
}

function image(recipe: string, parent: string | null = null): Record<string, unknown> {
  return {
    kind: 'image',
    parent,
    nativeImages: { libvirt: { imageId: 'tiny' } },
    recipes: { deploy: recipe },
  };
}

function entries(spec: BundleSpec): BundleEntry[] {
  const id = spec.id ?? 'acme-crm';
  const modules = spec.modules ?? [
    { path: `/apps/${id}/web`, content: image(`serve ${spec.version ?? '1.0.0'}`) },
  ];
  const manifest = {
    format: 1,
    app: {
      id,
      version: spec.version ?? '1.0.0',
      title: 'CRM',
      summary: 'Customers',
      publisher: spec.publisher ?? 'Acme',
    },
    deploy: { module: modules[0]!.path },
  };
  return [
    { path: 'manifest.yaml', data: Buffer.from(stringify(manifest)) },
    {
      path: 'modules.yaml',
      data: Buffer.from(modules.map((module) => stringify(module)).join('---\n')),
    },
    ...(spec.extra ?? []),
  ];
}

async function bundle(spec: BundleSpec = {}): Promise<string> {
  const path = join(await tempDir('bivouac-usb-'), 'app.bvc');
  await writeBundle(
    createWriteStream(path),
    entries(spec),
    spec.signer === undefined ? acme : spec.signer,
  );
  return path;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The tar bytes a hostile writer sends: entries in the given order, each header as given (its size may lie). */
function tarBytes(
  parts: { name: string; body: Buffer | string; size?: number }[],
): Promise<Buffer> {
  return new Promise((resolve) => {
    const tar = pack();
    const chunks: Buffer[] = [];
    tar.on('data', (chunk) => chunks.push(chunk as Buffer));
    for (const part of parts) {
      const body = Buffer.from(part.body);
      if (part.size === undefined) {
        tar.entry({ name: part.name, size: body.length }, body);
      } else {
        // A header announcing `size` bytes, followed by only the first of them.
        tar.entry({ name: part.name, size: part.size }).write(body);
      }
    }
    setImmediate(() => resolve(Buffer.concat(chunks)));
  });
}

/** CHECKSUMS and a SIGNATURE by `signer` over the given files. */
function signedHead(
  files: Record<string, Buffer | string>,
  signer: SigningKey = acme,
): { checksums: string; signature: string } {
  const checksums = Object.entries(files)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, body]) => `${sha256(body)}  ${name}\n`)
    .join('');
  const signature = sign(
    null,
    Buffer.from(checksums),
    createPrivateKey(signer.privateKeyPem),
  ).toString('base64');
  return {
    checksums,
    signature: JSON.stringify({ publisher: signer.keyId, algorithm: 'ed25519', signature }),
  };
}

describe('bundles bound to their publisher (H4) and judged before they reach the disk (M8)', () => {
  let box: TestAppliance;
  let admin: Client;
  let appsDir: string;

  beforeEach(async () => {
    appsDir = join(await tempDir('bivouac-apps-'), 'apps');
    box = await makeAppliance({ appsDir });
    await box.services.apps.recover();
    admin = await setupAdmin(box.app);
    await trust('Acme', acme, ['acme-*']);
    await trust('Other', other, ['*']);
  });
  afterEach(async () => {
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  async function trust(name: string, key: SigningKey, appIds: string[]) {
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(admin),
      payload: { name, publicKey: key.publicKey, appIds },
    });
    expect(response.statusCode).toBe(201);
  }
  const importPath = (path: string, extra: Record<string, unknown> = {}) =>
    box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/import',
      headers: as(admin),
      payload: { path, ...extra },
    });
  const getApp = async (id: string) =>
    (await box.app.inject({ method: 'GET', url: `/api/v1/apps/${id}`, headers: as(admin) })).json<{
      version: string;
      publisher: string | null;
      signed: boolean;
      module: string;
      versions: { version: string }[];
    }>();
  const history = async (path: string, client = admin) =>
    (
      await box.app.inject({
        method: 'GET',
        url: `/api/v1/modules/history?path=${path}`,
        headers: as(client),
      })
    ).json<unknown[]>();
  const allowUnsigned = () =>
    box.app.inject({
      method: 'PUT',
      url: '/api/v1/settings/bundles',
      headers: as(admin),
      payload: { allowUnsigned: true },
    });

  it('H4: the first install records its key; a version signed by another trusted key, or unsigned, is refused', async () => {
    expect((await importPath(await bundle())).statusCode).toBe(201);
    expect(box.services.store.data.apps.find((app) => app.id === 'acme-crm')?.publisherKeyId).toBe(
      acme.keyId,
    );

    const takeover = await importPath(
      await bundle({ version: '99.0.0', publisher: 'Other', signer: other }),
    );
    expect(takeover.json()).toMatchObject({
      error: {
        code: 'APP_OTHER_PUBLISHER',
        details: { app: 'acme-crm', boundKeyId: acme.keyId, keyId: other.keyId },
      },
    });
    await allowUnsigned();
    const unsigned = await importPath(await bundle({ version: '99.0.0', signer: null }));
    expect(unsigned.json()).toMatchObject({
      error: { code: 'APP_OTHER_PUBLISHER', details: { boundKeyId: acme.keyId, keyId: null } },
    });

    expect(await getApp('acme-crm')).toMatchObject({
      version: '1.0.0',
      publisher: 'Acme',
      signed: true,
      module: '/apps/acme-crm/web@1',
    });
    expect(await history('/apps/acme-crm/web')).toHaveLength(1);
    // Its own key still publishes new versions.
    expect((await importPath(await bundle({ version: '1.1.0' }))).statusCode).toBe(201);
    expect(await getApp('acme-crm')).toMatchObject({
      version: '1.1.0',
      module: '/apps/acme-crm/web@2',
    });
  });

  it('H4: a key signs only the app ids it is trusted for', async () => {
    const outside = await importPath(await bundle({ id: 'hello-web' }));
    expect(outside.json()).toMatchObject({
      error: {
        code: 'PUBLISHER_NOT_ALLOWED',
        details: { app: 'hello-web', keyId: acme.keyId, appIds: ['acme-*'] },
      },
    });
    const badPattern = await box.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(admin),
      payload: { name: 'Wide', publicKey: newSigningKey().publicKey, appIds: ['*acme'] },
    });
    expect(badPattern.json(), badPattern.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'body.appIds.0' }] } },
    });
    const none = await box.app.inject({
      method: 'POST',
      url: '/api/v1/publishers',
      headers: as(admin),
      payload: { name: 'None', publicKey: newSigningKey().publicKey },
    });
    expect(none.json(), none.body).toMatchObject({
      error: { code: 'VALIDATION_FAILED', details: { fields: [{ field: 'body.appIds' }] } },
    });
    expect(box.services.store.data.apps).toEqual([]);
  });

  it("H4: a bundle's modules stay inside /apps/<id>/: rewriting /alice/db or /apps/other/…, or naming a module outside, is refused", async () => {
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'alice', password: 'alice password 1', role: 'operator' },
    });
    const alice = await login(box.app, 'alice', 'alice password 1');
    for (const [path, content] of [
      ['/alice', { kind: 'project' }],
      ['/alice/db', image('alice db')],
    ] as const) {
      const saved = await box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(alice),
        payload: { content, message: 'made by alice' },
      });
      expect(saved.statusCode, saved.body).toBeLessThan(300);
    }
    expect(
      (
        await importPath(
          await bundle({
            id: 'acme-web',
            modules: [{ path: '/apps/acme-web/web', content: image('web') }],
          }),
        )
      ).statusCode,
    ).toBe(201);

    const rewrites = await importPath(
      await bundle({
        modules: [
          { path: '/apps/acme-crm/web', content: image('crm') },
          { path: '/alice/db', content: image('rewritten by a bundle') },
        ],
      }),
    );
    expect(rewrites.json()).toMatchObject({
      error: { code: 'MODULE_OUTSIDE_APP', details: { fields: [{ field: '/alice/db.path' }] } },
    });
    const otherApp = await importPath(
      await bundle({
        modules: [
          { path: '/apps/acme-crm/web', content: image('crm') },
          { path: '/apps/acme-web/web', content: image('rewritten by another app') },
        ],
      }),
    );
    expect(otherApp.json()).toMatchObject({
      error: {
        code: 'MODULE_OUTSIDE_APP',
        details: { fields: [{ field: '/apps/acme-web/web.path' }] },
      },
    });
    const storeFolder = await importPath(
      await bundle({
        modules: [
          { path: '/apps/acme-crm/web', content: image('crm') },
          { path: '/apps', content: { kind: 'project', description: 'mine now' } },
        ],
      }),
    );
    expect(storeFolder.json()).toMatchObject({ error: { code: 'MODULE_OUTSIDE_APP' } });
    const inherits = await importPath(
      await bundle({
        modules: [{ path: '/apps/acme-crm/web', content: image('crm', '/alice/db') }],
      }),
    );
    expect(inherits.json()).toMatchObject({
      error: {
        code: 'MODULE_OUTSIDE_APP',
        details: { fields: [{ field: '/apps/acme-crm/web.content.parent' }] },
      },
    });
    const deploys = await importPath(
      await bundle({
        modules: [
          {
            path: '/apps/acme-crm/app',
            content: { kind: 'deployment', nodes: [{ name: 'db', image: '/alice/db@1' }] },
          },
        ],
      }),
    );
    expect(deploys.json()).toMatchObject({
      error: {
        code: 'MODULE_OUTSIDE_APP',
        details: { fields: [{ field: '/apps/acme-crm/app.content.nodes.0.image' }] },
      },
    });

    expect(await history('/alice/db', alice)).toHaveLength(1);
    expect(await history('/apps/acme-web/web')).toHaveLength(1);
    expect(box.services.store.data.apps.map((app) => app.id)).toEqual(['acme-web']);
  });

  it("H4: the store shows the key's name; a manifest naming another publisher is refused; an unsigned app shows no publisher", async () => {
    const fake = await importPath(await bundle({ publisher: 'Bivouac' }));
    expect(fake.json()).toMatchObject({
      error: { code: 'PUBLISHER_MISMATCH', details: { claimed: 'Bivouac', trustedAs: 'Acme' } },
    });
    expect((await importPath(await bundle())).statusCode).toBe(201);
    await allowUnsigned();
    const unsigned = await importPath(
      await bundle({ id: 'free-app', publisher: 'Bivouac', signer: null }),
    );
    expect(unsigned.json()).toMatchObject({
      app: { id: 'free-app', signed: false, publisher: null },
    });
    const listed = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })
    ).json<{ id: string; publisher: string | null }[]>();
    expect(listed.map((app) => [app.id, app.publisher])).toEqual([
      ['acme-crm', 'Acme'],
      ['free-app', null],
    ]);
  });

  it('H4: a lower version is refused; an administrator may install it, and it never becomes the latest', async () => {
    for (const version of ['1.9.0', '1.10.0'])
      expect((await importPath(await bundle({ version }))).statusCode).toBe(201);
    // 1.10.0 is newer than 1.9.0: the latest is the highest version, not the last text-wise.
    expect(await getApp('acme-crm')).toMatchObject({
      version: '1.10.0',
      module: '/apps/acme-crm/web@2',
    });

    const older = await importPath(await bundle({ version: '1.2.0' }));
    expect(older.json()).toMatchObject({
      error: { code: 'APP_DOWNGRADE', details: { version: '1.2.0', newest: '1.10.0' } },
    });
    const allowed = await importPath(await bundle({ version: '1.2.0' }), { allowDowngrade: true });
    expect(allowed.statusCode).toBe(201);
    const uploaded = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/upload?allowDowngrade=true',
      headers: { ...as(admin), 'content-type': 'application/octet-stream' },
      payload: await readFile(await bundle({ version: '1.3.0' })),
    });
    expect(uploaded.statusCode).toBe(201);

    const app = await getApp('acme-crm');
    expect(app.versions.map((version) => version.version)).toEqual([
      '1.9.0',
      '1.10.0',
      '1.2.0',
      '1.3.0',
    ]);
    expect(app).toMatchObject({ version: '1.10.0', module: '/apps/acme-crm/web@2' });
    const listed = (
      await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })
    ).json<{ id: string; version: string }[]>();
    expect(listed).toMatchObject([{ id: 'acme-crm', version: '1.10.0' }]);
    await importPlaceholderImage(box.services, admin.userId, 'tiny');
    const run = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/acme-crm/deploy',
      headers: as(admin),
      payload: {},
    });
    expect(run.json()).toMatchObject({ module: { resolved: '/apps/acme-crm/web@2' } });
    const exported = await box.app.inject({
      method: 'GET',
      url: '/api/v1/apps/acme-crm/export',
      headers: as(admin),
    });
    expect(exported.headers['content-disposition']).toBe(
      'attachment; filename="acme-crm-1.10.0.bvc"',
    );
  });

  it("L9: an import's events (its host path, its errors) reach administrators only; everyone hears the app installed", async () => {
    const after = box.services.events.latestId;
    const path = await bundle();
    expect((await importPath(path)).statusCode).toBe(201);
    const refused = await bundle({ version: '2.0.0', signer: newSigningKey() });
    expect((await importPath(refused)).json()).toMatchObject({
      error: { code: 'UNTRUSTED_BUNDLE' },
    });
    const events = (box.services.events.since(after) ?? []).filter((event) =>
      event.type.startsWith('app.'),
    );
    expect(events.map((event) => event.type)).toEqual([
      'app.importing',
      'app.installed',
      'app.import.done',
      'app.importing',
      'app.import.failed',
    ]);
    const operator = { userId: 'someone', role: 'operator' as const };
    for (const event of events) {
      const isPublic = event.type === 'app.installed';
      expect(canAccess(operator, event.access, 'view'), event.type).toBe(isPublic);
      expect(canAccess({ userId: admin.userId, role: 'admin' }, event.access, 'view')).toBe(true);
      if (isPublic) expect(JSON.stringify(event.data)).not.toContain('bivouac-usb-');
    }
  });

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

describe('the start-up migration of apps (H4)', () => {
  it('H4: a box upgraded from the old store keeps its apps, each bound to the key that signed its newest version', async () => {
    const dataDir = await tempDir();
    const before = await openStore(
      dataDir,
      migrations.filter((migration) => migration.version <= 10),
    );
    const manifest = (id: string, version: string, publisher: string) => ({
      format: 1,
      app: {
        id,
        version,
        title: id,
        summary: 'old',
        description: '',
        categories: [],
        publisher,
        screenshots: [],
      },
      deploy: { module: `/apps/${id}/web`, form: [], clouds: {}, requires: [] },
      modules: 'modules.yaml',
      images: [],
    });
    const version = (id: string, number: string, key: SigningKey | null, claimed: string) => ({
      version: number,
      manifest: manifest(id, number, claimed),
      modules: [{ path: `/apps/${id}/web`, version: 1 }],
      signed: key !== null,
      publisher: key?.keyId ?? null,
      installedAt: '2026-01-01T00:00:00.000Z',
      installedBy: 'someone',
    });
    await before.store.update((document) => {
      const old = document as unknown as Record<string, unknown>;
      old.publishers = [
        {
          keyId: acme.keyId,
          publicKey: acme.publicKey,
          name: 'Acme',
          addedAt: '2026-01-01T00:00:00.000Z',
        },
      ];
      // acme-crm: 2.0.0 signed by Acme, then an older 1.5.0 installed unsigned (the last one, but not the newest).
      old.apps = [
        {
          id: 'acme-crm',
          published: true,
          versions: [
            version('acme-crm', '2.0.0', acme, 'Acme'),
            version('acme-crm', '1.5.0', null, 'Bivouac'),
          ],
        },
        {
          id: 'free-app',
          published: true,
          versions: [version('free-app', '1.0.0', null, 'Bivouac')],
        },
      ];
    });
    await before.store.flush();

    const box = await makeAppliance({ dataDir, appsDir: join(dataDir, 'apps') });
    try {
      const admin = await setupAdmin(box.app);
      expect(box.services.store.data.apps.map((app) => [app.id, app.publisherKeyId])).toEqual([
        ['acme-crm', acme.keyId],
        ['free-app', null],
      ]);
      const publishers = (
        await box.app.inject({ method: 'GET', url: '/api/v1/publishers', headers: as(admin) })
      ).json<{ keyId: string; appIds: string[] }[]>();
      expect(publishers).toMatchObject([{ keyId: acme.keyId, appIds: ['*'] }]);
      const listed = (
        await box.app.inject({ method: 'GET', url: '/api/v1/apps', headers: as(admin) })
      ).json<{ id: string; version: string; publisher: string | null; signed: boolean }[]>();
      expect(listed.map((app) => [app.id, app.version, app.publisher, app.signed])).toEqual([
        ['acme-crm', '2.0.0', 'Acme', true],
        ['free-app', '1.0.0', null, false],
      ]);
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/publishers',
        headers: as(admin),
        payload: { name: 'Other', publicKey: other.publicKey, appIds: ['*'] },
      });
      const path = join(await tempDir('bivouac-usb-'), 'takeover.bvc');
      await writeBundle(
        createWriteStream(path),
        entries({ version: '3.0.0', publisher: 'Other' }),
        other,
      );
      const takeover = await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/import',
        headers: as(admin),
        payload: { path },
      });
      expect(takeover.json()).toMatchObject({
        error: { code: 'APP_OTHER_PUBLISHER', details: { boundKeyId: acme.keyId } },
      });
    } finally {
      await box.services.clouds.close();
      await box.close();
    }
  });

  it('H4: an app published on the box before the upgrade (bound to no key) refuses a signed bundle from a key trusted for every app', async () => {
    const dataDir = await tempDir();
    const before = await openStore(
      dataDir,
      migrations.filter((migration) => migration.version <= 10),
    );
    await before.store.update((document) => {
      const old = document as unknown as Record<string, unknown>;
      old.publishers = [
        {
          keyId: acme.keyId,
          publicKey: acme.publicKey,
          name: 'Acme',
          addedAt: '2026-01-01T00:00:00.000Z',
        },
      ];
      // As the box stored what it published before apps were bound to keys: unsigned, no publisher.
      old.apps = [
        {
          id: 'team-wiki',
          published: true,
          versions: [
            {
              version: '1.0.0',
              manifest: {
                format: 1,
                app: {
                  id: 'team-wiki',
                  version: '1.0.0',
                  title: 'Wiki',
                  summary: 'old',
                  description: '',
                  categories: [],
                  publisher: 'This box',
                  screenshots: [],
                },
                deploy: { module: '/apps/team-wiki/web', form: [], clouds: {}, requires: [] },
                modules: 'modules.yaml',
                images: [],
              },
              modules: [{ path: '/apps/team-wiki/web', version: 1 }],
              signed: false,
              publisher: null,
              installedAt: '2026-01-01T00:00:00.000Z',
              installedBy: 'someone',
            },
          ],
        },
      ];
    });
    await before.store.flush();

    const box = await makeAppliance({ dataDir, appsDir: join(dataDir, 'apps') });
    try {
      const admin = await setupAdmin(box.app);
      expect(box.services.store.data.apps.map((app) => [app.id, app.publisherKeyId])).toEqual([
        ['team-wiki', null],
      ]);
      const path = join(await tempDir('bivouac-usb-'), 'takeover.bvc');
      await writeBundle(
        createWriteStream(path),
        entries({ id: 'team-wiki', version: '2.0.0', publisher: 'Acme' }),
        acme,
      );
      const takeover = await box.app.inject({
        method: 'POST',
        url: '/api/v1/apps/import',
        headers: as(admin),
        payload: { path },
      });
      expect(takeover.statusCode).toBe(409);
      expect(takeover.json()).toMatchObject({
        error: {
          code: 'APP_OTHER_PUBLISHER',
          message: expect.stringContaining('another app id'),
          details: { app: 'team-wiki', boundKeyId: null, keyId: acme.keyId },
        },
      });
      // Nothing changed: the app keeps its one version, still bound to no key.
      expect(
        box.services.store.data.apps.map((app) => [
          app.id,
          app.publisherKeyId,
          app.versions.map((version) => version.version),
        ]),
      ).toEqual([['team-wiki', null, ['1.0.0']]]);
    } finally {
      await box.services.clouds.close();
      await box.close();
    }
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { newSigningKey } from '../../appliance/src/catalog/bundle.ts';
import { as, login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useBundleBox } from '../fixtures/bundle-box.ts';
import { importPlaceholderImage } from '../fixtures/guest-stand-in.ts';
import { acme, bundle, image, other } from '../fixtures/hostile-bundles.ts';

/**
 * Bundles are bound to their publisher (H4): the first install records its key, a key signs only
 * the app ids it is trusted for, a bundle's modules stay in its app's folder, and versions only go
 * up. Bundles made by hand as a hostile publisher would (test/fixtures/hostile-bundles.ts), through
 * the public API.
 */
describe('bundles bound to their publisher (H4)', () => {
  let box: TestAppliance;
  let admin: Client;
  const { importPath } = useBundleBox((parts) => ({ box, admin } = parts));
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
});

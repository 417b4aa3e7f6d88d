import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../appliance/migrations/index.ts';
import { writeBundle, type SigningKey } from '../../appliance/src/catalog/bundle.ts';
import { openStore } from '../../appliance/src/store/open-store.ts';
import { as, makeAppliance, setupAdmin, tempDir } from '../fixtures/appliance.ts';
import { acme, entries, other } from '../fixtures/hostile-bundles.ts';

/**
 * Apps stored before they were bound to a publisher's key (H4): the start-up migration binds each
 * to the key that signed its newest version, and an app bound to no key refuses a signed bundle.
 */
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

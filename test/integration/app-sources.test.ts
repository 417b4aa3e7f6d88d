import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

const password = 'sources admin password';

/**
 * `GET /api/v1/apps/sources` on a real appliance process whose import folder (BIVOUAC_IMPORT_DIRS)
 * is laid out as a desktop mounts a USB stick (`/media/<user>/<label>/…`), with real bundles the
 * box itself exported.
 */
describe('bundles on USB sticks: GET /apps/sources', () => {
  let appliance: ApplianceProcess;
  let media: string;
  let elsewhere: string;
  let api: Awaited<ReturnType<typeof adminApi>>;
  let bundle: Buffer;

  beforeAll(async () => {
    media = await tempDir('bivouac-media-');
    elsewhere = await tempDir('bivouac-not-imported-');
    appliance = await startAppliance(await tempDir('bivouac-sources-'), {
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_IMPORT_DIRS: media,
    });
    api = await adminApi(() => appliance.url, password);
    // The shipped catalog installs once the box answers; its Hello web is exported as a bundle.
    const deadline = Date.now() + 30_000;
    while (
      !((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
        (app) => app.id === 'hello-web',
      )
    ) {
      if (Date.now() > deadline)
        throw new Error('the shipped catalog was not installed within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const login = await fetch(`${appliance.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const exported = await fetch(`${appliance.url}/api/v1/apps/hello-web/export`, {
      headers: { cookie },
    });
    expect(exported.status).toBe(200);
    bundle = Buffer.from(await exported.arrayBuffer());
    expect(bundle.length).toBeGreaterThan(1000);
  }, 60_000);
  afterAll(async () => {
    await appliance?.stop();
  });

  it('lists the bundles on a stick in an import folder, with their sizes, and nothing else', async () => {
    const stick = join(media, 'alice', 'FIELD-KIT');
    await mkdir(join(stick, 'apps'), { recursive: true });
    await writeFile(join(stick, 'hello-web.bvc'), bundle);
    await writeFile(join(stick, 'apps', 'copy.bvc'), bundle.subarray(0, 1000));
    await writeFile(join(stick, 'notes.txt'), 'not a bundle');
    await writeFile(join(stick, 'hello-web.bvc.part'), 'an interrupted copy');
    await writeFile(join(elsewhere, 'outside.bvc'), bundle);

    const answer = await api('GET', '/apps/sources');
    expect(answer.status).toBe(200);
    const sources = answer.body as unknown as { path: string; sizeBytes: number }[];
    const onStick = sources
      .filter((source) => source.path.startsWith(`${media}/`))
      .sort((a, b) => a.path.localeCompare(b.path));
    expect(onStick).toEqual([
      { path: join(stick, 'apps', 'copy.bvc'), sizeBytes: 1000 },
      { path: join(stick, 'hello-web.bvc'), sizeBytes: bundle.length },
    ]);
    // A folder that is neither removable media nor an import folder is not looked at.
    expect(sources.map((source) => source.path)).not.toContain(join(elsewhere, 'outside.bvc'));

    // A listed path is one the import accepts: the bundle is read and judged (this box has
    // Hello web at that version already, so it is refused for its version, not its place).
    const imported = await api('POST', '/apps/import', { path: join(stick, 'hello-web.bvc') });
    expect(imported.body).toMatchObject({
      error: { code: 'BAD_BUNDLE', message: expect.stringMatching(/is installed already/) },
    });
    const refused = await api('POST', '/apps/import', { path: join(elsewhere, 'outside.bvc') });
    expect(refused.body).toMatchObject({ error: { code: 'IMPORT_PATH_REFUSED' } });
  });

  it('is for administrators only', async () => {
    await api('POST', '/users', {
      username: 'olga',
      password: 'operator password',
      role: 'operator',
    });
    const login = await fetch(`${appliance.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'olga', password: 'operator password' }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const answer = await fetch(`${appliance.url}/api/v1/apps/sources`, { headers: { cookie } });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });
});

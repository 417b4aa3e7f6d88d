import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { useTenantBox, type ErrorAnswer, type RunAnswer } from '../fixtures/tenant-box.ts';

/**
 * Version numbers of a path are never reused (M14), so a pinned reference always means what it
 * meant. Through the public API, on the tenants' box of test/fixtures/tenant-box.ts.
 */
describe('module references and views hold tenant boundaries', () => {
  let box: TestAppliance;
  let admin: Client;
  const { saveOk, get, post } = useTenantBox((parts) => ({ box, admin } = parts));

  describe('M14', () => {
    const recipe = (content: { content: { recipes: { deploy: string } } }) =>
      content.content.recipes.deploy;

    it('M14: version numbers of a path are never reused, and pinned references find the deleted module', async () => {
      await saveOk('/p', { kind: 'project' });
      for (const word of ['one', 'two'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });
      await saveOk('/p/dep', { kind: 'deployment', nodes: [{ name: 'n', image: '/p/img@2' }] });
      expect(
        (
          await box.app.inject({
            method: 'DELETE',
            url: '/api/v1/modules?path=/p/img',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(204);
      for (const word of ['evil1', 'evil2'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });

      expect(recipe((await get('/modules/version?ref=/p/img@2')).json())).toBe('echo two');
      expect(recipe((await get('/modules/version?ref=/p/img@1')).json())).toBe('echo one');
      expect((await get('/modules/version?ref=/p/img')).json()).toMatchObject({
        version: 4,
        latestVersion: 4,
        content: { recipes: { deploy: 'echo evil2' } },
      });
      expect(
        (await get('/modules/history?path=/p/img'))
          .json<{ version: number }[]>()
          .map((entry) => entry.version),
      ).toEqual([3, 4]);
      expect((await get('/modules/version?ref=/p/img@9')).json<ErrorAnswer>().error.message).toBe(
        '/p/img has no version 9; it has 3 to 4.',
      );

      // A deployment pinned to @2 deploys the deleted module's version 2.
      const run = await post('/runs', { module: '/p/dep' });
      expect(run.statusCode, run.body).toBe(201);
      expect(run.json<RunAnswer>().nodes[0]!.image).toEqual(['/p/img@2']);
      const stored = box.services.store.data.runs.find(
        (candidate) => candidate.id === run.json<RunAnswer>().id,
      )!;
      expect(stored.nodes[0]!.recipes.deploy).toBe('echo two');
    });

    it('M14: a store that already holds a deleted and a re-created module with the same numbers is renumbered, keeping what each reference meant', async () => {
      await saveOk('/p', { kind: 'project' });
      for (const word of ['one', 'two'])
        await saveOk('/p/img', { kind: 'image', recipes: { deploy: `echo ${word}` } });
      await saveOk('/p/early', { kind: 'deployment', nodes: [{ name: 'n', image: '/p/img@2' }] });
      await box.services.store.flush();
      const document = JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8'));

      // As the old code left it: the first module deleted, a second one at the same path numbered
      // from 1 again, and a deployment saved after it pinned to its @2.
      const img = document.modules.find((module: { path: string }) => module.path === '/p/img');
      img.deleted = true;
      const later = (second: number) =>
        new Date(Date.parse(img.versions[1].time) + second * 1000).toISOString();
      const version = (number: number, time: string, content: object) => ({
        version: number,
        author: admin.userId,
        time,
        message: 'm',
        content,
      });
      document.modules.push(
        {
          path: '/p/img',
          owner: admin.userId,
          acl: [],
          deleted: false,
          versions: [
            version(1, later(10), {
              kind: 'image',
              parent: null,
              nativeImages: {},
              recipes: { deploy: 'echo evil1' },
              inputs: [],
              outputs: [],
              ports: [],
            }),
            version(2, later(11), {
              kind: 'image',
              parent: null,
              nativeImages: {},
              recipes: { deploy: 'echo evil2' },
              inputs: [],
              outputs: [],
              ports: [],
            }),
          ],
        },
        {
          path: '/p/late',
          owner: admin.userId,
          acl: [],
          deleted: false,
          versions: [
            version(1, later(12), {
              kind: 'deployment',
              nodes: [
                {
                  name: 'n',
                  image: '/p/img@2',
                  multiplicity: 1,
                  cloud: null,
                  maxFailures: 0,
                  mappings: {},
                },
              ],
            }),
          ],
        },
      );
      document.schemaVersion = 10;
      const dataDir = await tempDir();
      await writeFile(join(dataDir, 'bivouac.json'), JSON.stringify(document));
      const upgraded = await makeAppliance({ dataDir });
      try {
        const session = await login(upgraded.app, 'admin', 'correct horse battery');
        const read = async (url: string) =>
          (
            await upgraded.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: as(session) })
          ).json();
        expect(recipe(await read('/modules/version?ref=/p/img@2'))).toBe('echo two');
        expect(recipe(await read('/modules/version?ref=/p/img@4'))).toBe('echo evil2');
        expect(
          (await read('/modules/history?path=/p/img')).map(
            (entry: { version: number }) => entry.version,
          ),
        ).toEqual([3, 4]);
        expect((await read('/modules/version?ref=/p/early')).content.nodes[0].image).toBe(
          '/p/img@2',
        );
        expect((await read('/modules/version?ref=/p/late')).content.nodes[0].image).toBe(
          '/p/img@4',
        );
      } finally {
        await upgraded.services.clouds.close();
        await upgraded.close();
      }
    });
  });
});

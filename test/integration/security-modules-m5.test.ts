import { describe, expect, it } from 'vitest';
import type { Client } from '../fixtures/appliance.ts';
import { useTenantBox } from '../fixtures/tenant-box.ts';

/**
 * Module views mask secrets (M5): secret input defaults and literal values are shown only to those
 * who may edit. Through the public API, on the tenants' box of test/fixtures/tenant-box.ts.
 */
describe('module references and views hold tenant boundaries', () => {
  let alice: Client;
  let mallory: Client;
  const { saveOk, get, share } = useTenantBox((parts) => ({ alice, mallory } = parts));

  describe('M5-views', () => {
    it('M5-views: secret input defaults and literal values of secret inputs are masked for those who may not edit, and an editor saving the mask keeps the secret', async () => {
      await saveOk(
        '/alice/app',
        {
          kind: 'deployment',
          nodes: [
            {
              name: 'db',
              image: '/alice/db',
              mappings: { pw: { value: 'mapped-secret' }, license: { value: 'LIC-2' } },
            },
          ],
        },
        alice,
      );
      for (const path of ['/alice/db', '/alice/app'])
        await share(path, [{ user: mallory.userId, allow: ['view', 'run'] }], alice);

      const db = (await get('/modules/version?ref=/alice/db', mallory)).json<{
        content: { inputs: { name: string; default?: string }[] };
      }>();
      expect(db.content.inputs).toEqual([
        expect.objectContaining({ name: 'license', default: 'ACME-LICENSE-4711' }),
        expect.objectContaining({ name: 'pw', default: '********' }),
      ]);
      const app = (await get('/modules/version?ref=/alice/app', mallory)).json<{
        content: { nodes: { mappings: Record<string, unknown> }[] };
      }>();
      expect(app.content.nodes[0]!.mappings).toEqual({
        pw: { value: '********' },
        license: { value: 'LIC-2' },
      });
      for (const url of [
        '/modules/export?path=/alice',
        '/modules/diff?path=/alice/db&from=1&to=1',
      ]) {
        const answer = await get(url, mallory);
        expect(answer.statusCode, answer.body).toBe(200);
        expect(answer.body).not.toMatch(/hunter2|mapped-secret/);
      }

      // The owner (an editor) sees the values, and saving a view that shows the mask keeps them.
      expect((await get('/modules/version?ref=/alice/db', alice)).body).toContain('hunter2');
      expect((await get('/modules/version?ref=/alice/app', alice)).body).toContain('mapped-secret');
      await saveOk('/alice/db', { ...db.content, description: 'edited from a masked view' }, alice);
      await saveOk(
        '/alice/app',
        { ...app.content, description: 'edited from a masked view' },
        alice,
      );
      expect(
        (await get('/modules/version?ref=/alice/db@2', alice)).json<{
          content: { inputs: { default?: string }[] };
        }>().content.inputs[1]!.default,
      ).toBe('hunter2');
      expect(
        (await get('/modules/version?ref=/alice/app@2', alice)).json<{
          content: { nodes: { mappings: Record<string, unknown> }[] };
        }>().content.nodes[0]!.mappings.pw,
      ).toEqual({ value: 'mapped-secret' });
    });
  });
});

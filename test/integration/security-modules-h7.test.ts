import { describe, expect, it } from 'vitest';
import type { Client, TestAppliance } from '../fixtures/appliance.ts';
import { useTenantBox, type ErrorAnswer } from '../fixtures/tenant-box.ts';

/**
 * Diffs are bounded (H7): two very different versions answer DIFF_TOO_LARGE while the box keeps
 * answering. Through the public API, on the tenants' box of test/fixtures/tenant-box.ts.
 */
describe('module references and views hold tenant boundaries', () => {
  let box: TestAppliance;
  let mallory: Client;
  const { saveOk, get } = useTenantBox((parts) => ({ box, mallory } = parts));

  describe('H7', () => {
    it('H7: a diff of two very different versions answers DIFF_TOO_LARGE while the box keeps answering', async () => {
      // Three recipes of 10,000 lines each, with no line in common between the two versions.
      const lines = (prefix: string, recipe: number) =>
        Array.from(
          { length: 10_000 },
          (_, index) => `${prefix}${recipe}${index.toString(36)}`,
        ).join('\n');
      const recipes = (prefix: string) => ({
        preInstall: lines(prefix, 0),
        deploy: lines(prefix, 1),
        report: lines(prefix, 2),
      });
      await saveOk('/mallory/big', { kind: 'image', recipes: recipes('a') }, mallory);
      await saveOk('/mallory/big', { kind: 'image', recipes: recipes('b') }, mallory);

      const [diff, health] = await Promise.all([
        get('/modules/diff?path=/mallory/big&from=1&to=2', mallory),
        box.app.inject({ method: 'GET', url: '/healthz' }),
      ]);
      expect(diff.statusCode).toBe(422);
      expect(diff.json<ErrorAnswer>().error).toMatchObject({
        code: 'DIFF_TOO_LARGE',
        details: { path: '/mallory/big', from: 1, to: 2 },
      });
      expect(health.statusCode).toBe(200);
      // The same lines in reverse order: nothing is added or removed overall, yet the diff would
      // be as long; jsdiff's own bounds (edits, time) end it.
      const reversed = (prefix: string, recipe: number) =>
        lines(prefix, recipe).split('\n').reverse().join('\n');
      await saveOk(
        '/mallory/big',
        {
          kind: 'image',
          recipes: {
            preInstall: reversed('b', 0),
            deploy: reversed('b', 1),
            report: reversed('b', 2),
          },
        },
        mallory,
      );
      const [reorder, stillHealthy] = await Promise.all([
        get('/modules/diff?path=/mallory/big&from=2&to=3', mallory),
        box.app.inject({ method: 'GET', url: '/healthz' }),
      ]);
      expect(reorder.json<ErrorAnswer>().error.code).toBe('DIFF_TOO_LARGE');
      expect(stillHealthy.statusCode).toBe(200);

      // A small change still diffs.
      await saveOk(
        '/mallory/big',
        { kind: 'image', recipes: { ...recipes('b'), deploy: 'short' } },
        mallory,
      );
      await saveOk(
        '/mallory/big',
        { kind: 'image', recipes: { ...recipes('b'), deploy: 'shorter' } },
        mallory,
      );
      expect(
        (await get('/modules/diff?path=/mallory/big&from=4&to=5', mallory)).json<{ diff: string }>()
          .diff,
      ).toContain('-  deploy: short\n+  deploy: shorter');
    });
  });
});

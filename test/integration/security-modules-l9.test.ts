import { describe, expect, it } from 'vitest';
import type { Client } from '../fixtures/appliance.ts';
import { useTenantBox, type ErrorAnswer } from '../fixtures/tenant-box.ts';

/**
 * YAML depth (L9): deeply nested YAML in an import is refused naming the limit. Through the public
 * API, on the tenants' box of test/fixtures/tenant-box.ts.
 */
describe('module references and views hold tenant boundaries', () => {
  let mallory: Client;
  const { post } = useTenantBox((parts) => ({ mallory } = parts));

  describe('L9-yaml', () => {
    it('L9-yaml: deeply nested YAML in an import is refused with VALIDATION_FAILED naming the depth limit', async () => {
      for (const depth of [100, 100_000]) {
        for (const yaml of [
          `path: /mallory/x\ncontent: ${'['.repeat(depth)}${']'.repeat(depth)}`,
          `path: /mallory/x\ncontent:\n${Array.from({ length: Math.min(depth, 300) }, (_, level) => `${' '.repeat(level)}- `).join('\n')}x`,
        ]) {
          const answer = await post('/modules/import', { yaml, message: 'deep' }, mallory);
          expect(answer.statusCode, answer.body.slice(0, 200)).toBe(400);
          expect(answer.json<ErrorAnswer>().error).toMatchObject({
            code: 'VALIDATION_FAILED',
            message: expect.stringContaining('deeper than 64 levels'),
          });
        }
      }
      // Ordinary nesting still imports.
      const ordinary = await post(
        '/modules/import',
        {
          yaml: 'path: /mallory/x\ncontent:\n  kind: image\n  recipes:\n    deploy: echo ok\n  inputs:\n    - name: a\n      type: enum\n      options: [x, y]\n      default: x\n',
          message: 'm',
        },
        mallory,
      );
      expect(ordinary.statusCode, ordinary.body).toBe(201);
    });
  });
});

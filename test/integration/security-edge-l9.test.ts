import { describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import { makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { useEdgeCleanups } from '../fixtures/edge-cleanups.ts';

/**
 * Parameter keys at their length limit (L9-param-length) reach their route; longer ones are refused
 * in the registry's form.
 */

let box: TestAppliance | undefined;
useEdgeCleanups(() => box);

describe('L9', () => {
  it('L9-param-length: an agent call with the longest valid parameter key reaches its route (not a 404)', async () => {
    box = await makeAppliance();
    await setupAdmin(box.app);
    const key = `${'n'.repeat(32)}.999:${'k'.repeat(64)}`;
    expect(key).toHaveLength(101);
    for (const encoded of [key, encodeURIComponent(key)]) {
      const response = await box.app.inject({
        url: `/api/v1/agent/params/${encoded}`,
        headers: { authorization: 'Bearer bva_not-a-token' },
      });
      expect(response.statusCode, encoded).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHENTICATED');
    }
    // Beyond the limit, the router's refusal has the registry's form.
    const tooLong = await box.app.inject({
      url: `/api/v1/agent/params/${'k'.repeat(limits.paramLength + 1)}`,
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: [{ field: 'params' }] },
    });
  });
});

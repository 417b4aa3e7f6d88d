import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../appliance/src/app.ts';
import { makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import type { FastifyInstance } from 'fastify';

/**
 * M7: the listener guests reach answers the agent API and nothing else. Through `inject()` on
 * the app server.ts serves to guests (built for the `agent` listener) over a real store.
 */
describe('the agent listener', () => {
  let appliance: TestAppliance;
  let agentApp: FastifyInstance;

  beforeAll(async () => {
    appliance = await makeAppliance();
    agentApp = await build(appliance.services, { listener: 'agent' });
  });
  afterAll(async () => {
    await agentApp.close();
    await appliance.close();
  });

  it('M7: the agent listener refuses sign-in, setup, the UI, health and every other route with 404, and serves only /api/v1/agent/*', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/setup'],
      ['POST', '/api/v1/session'],
      ['GET', '/api/v1/runs'],
      ['GET', '/api/v1/openapi.json'],
      ['GET', '/api/v1/events'],
      ['GET', '/healthz'],
      ['GET', '/'],
      ['GET', '/api/v1/agentx/context'],
    ] as const) {
      const response = await agentApp.inject({
        method,
        url,
        ...(method === 'POST'
          ? { payload: { username: 'admin', password: 'correct horse battery' } }
          : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().error.code).toBe('NOT_FOUND');
    }
    // Nothing was done through it: no administrator was made.
    expect(appliance.services.accounts.needsAdmin).toBe(true);
    // The public listener still serves everything.
    await setupAdmin(appliance.app);
    expect(appliance.services.accounts.needsAdmin).toBe(false);
    // The agent API is there: without a token it asks for one.
    const context = await agentApp.inject({ method: 'GET', url: '/api/v1/agent/context' });
    expect(context.statusCode).toBe(401);
    expect((await agentApp.inject({ method: 'GET', url: '/api/v1/runs' })).statusCode).toBe(404);
  });
});

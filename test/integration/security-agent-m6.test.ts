import { describe, expect, it } from 'vitest';
import { useAgentRunBox } from '../fixtures/agent-run-box.ts';
import type { Client, TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';

/**
 * What waiting agents hear while the appliance stops (M6): SHUTTING_DOWN, retried, never
 * PARAM_NOT_SET. The guests are played by the guest stand-in (test/fixtures/agent-run-box.ts).
 */
describe('agents and secrets inside a run (M6)', () => {
  let box: TestAppliance;
  let admin: Client;
  let guests: GuestStandIn;
  let native: object;
  const { put, deploy, codeOf } = useAgentRunBox(
    (parts) => ({ box, admin, guests, native } = parts),
  );

  it('M6: while the appliance stops, waiting agents and new waits are answered SHUTTING_DOWN (503, retried), never PARAM_NOT_SET', async () => {
    await put(admin, '/w', { kind: 'project' });
    await put(admin, '/w/one', { kind: 'image', nativeImages: native });
    const id = await deploy(admin, { module: '/w/one' });
    const agent = await guests.agent(id, 'one.1');
    const wait = box.app.inject({
      url: '/api/v1/agent/params/run:never?wait=30',
      headers: { authorization: `Bearer ${agent.token}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = box.services.runs.stop(); // what SIGTERM does first
    const answer = await wait;
    expect(answer.statusCode).toBe(503);
    expect(codeOf(answer)).toBe('SHUTTING_DOWN');
    const later = await box.app.inject({
      url: '/api/v1/agent/params/run:never?wait=5',
      headers: { authorization: `Bearer ${agent.token}` },
    });
    expect([later.statusCode, codeOf(later)]).toEqual([503, 'SHUTTING_DOWN']);
    await stopping;
  });
});

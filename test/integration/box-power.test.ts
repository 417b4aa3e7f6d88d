import { afterEach, describe, expect, it } from 'vitest';
import type { PowerAction, PowerControl } from '../../appliance/src/host/power.ts';
import { BivouacError } from '../../appliance/src/errors.ts';
import { as, login, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';

/**
 * Powering the box off or rebooting it. The power control here is a fake that records what it
 * was asked (the real one would power off the machine running the tests); the route, its
 * checks and its event are the real ones.
 */
function recordingPowerFake(fail = false, onAsked: () => void = () => undefined): PowerControl & { asked: PowerAction[] } {
  const asked: PowerAction[] = [];
  return {
    asked,
    async perform(action) {
      onAsked();
      if (fail) throw new BivouacError('POWER_FAILED', `The box could not ${action}: Interactive authentication required.`, { action, reason: 'Interactive authentication required.' });
      asked.push(action);
    },
  };
}

describe('box power actions', () => {
  let box: TestAppliance;
  afterEach(async () => {
    await box.close();
  });

  it('reboots for an administrator, announcing who asked, and refuses operators and bad actions', async () => {
    const power = recordingPowerFake();
    box = await makeAppliance({ power });
    const admin = await setupAdmin(box.app);
    const seen: { type: string; data: Record<string, unknown> }[] = [];
    box.services.events.subscribe((event) => seen.push(event as never));

    const accepted = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(admin), payload: { action: 'reboot' } });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toMatchObject({ action: 'reboot', by: admin.userId });
    expect(power.asked).toEqual(['reboot']);
    expect(seen.find((event) => event.type === 'box.power')?.data).toMatchObject({ action: 'reboot', by: admin.userId });

    const bad = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(admin), payload: { action: 'halt-and-catch-fire' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });

    await box.app.inject({ method: 'POST', url: '/api/v1/users', headers: as(admin), payload: { username: 'olga', password: 'operator password', role: 'operator' } });
    const operator = await login(box.app, 'olga', 'operator password');
    const refused = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(operator), payload: { action: 'poweroff' } });
    expect(refused.statusCode).toBe(403);
    expect(power.asked).toEqual(['reboot']);
  });

  it('announces an action only once the host has accepted it', async () => {
    const announcedWhenAsked: boolean[] = [];
    const power = recordingPowerFake(false, () => announcedWhenAsked.push(box.services.events.since(0)!.some((event) => event.type === 'box.power')));
    box = await makeAppliance({ power });
    const admin = await setupAdmin(box.app);
    const accepted = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(admin), payload: { action: 'poweroff' } });
    expect(accepted.statusCode).toBe(202);
    expect(announcedWhenAsked).toEqual([false]);
    expect(box.services.events.since(0)!.filter((event) => event.type === 'box.power').map((event) => event.data)).toEqual([accepted.json()]);
  });

  it("passes the host's refusal on without announcing it, and says so when the appliance has no power control", async () => {
    box = await makeAppliance({ power: recordingPowerFake(true) });
    const admin = await setupAdmin(box.app);
    const refused = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(admin), payload: { action: 'poweroff' } });
    expect(refused.statusCode).toBe(500);
    expect(refused.json()).toMatchObject({ error: { code: 'POWER_FAILED', message: expect.stringContaining('Interactive authentication required') } });
    expect(box.services.events.since(0)!.map((event) => event.type)).not.toContain('box.power');
    await box.close();

    box = await makeAppliance();
    const other = await setupAdmin(box.app);
    const none = await box.app.inject({ method: 'POST', url: '/api/v1/box/power', headers: as(other), payload: { action: 'reboot' } });
    expect(none.json()).toMatchObject({ error: { code: 'POWER_FAILED', message: expect.stringContaining('without power control') } });
    expect(box.services.events.since(0)!.map((event) => event.type)).not.toContain('box.power');
  });
});

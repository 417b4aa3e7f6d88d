import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostPowerControl } from '../../appliance/src/host/power.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

const commands = ['systemctl', 'poweroff', 'reboot'] as const;

/**
 * Powering the box off or rebooting it, through the API and the real host power control. The
 * host's commands are stand-ins put first on PATH (the real ones would power off the machine
 * running the tests): shell scripts that write down how they were called and exit 0, or print a
 * refusal and exit 1. Which init runs the box is read from a file of the test's own instead of
 * /proc/1/comm.
 */
describe('box power actions', () => {
  let box: TestAppliance | null = null;
  let stubs: string;
  let initComm: string;
  const originalPath = process.env.PATH;

  beforeEach(async () => {
    stubs = join(await tempDir('bivouac-power-'), 'bin');
    await mkdir(stubs);
    for (const command of commands) {
      const script = `#!/bin/sh\necho "\${0##*/}" "$@" >> '${join(stubs, 'asked')}'\nif [ -f '${join(stubs, 'refusal')}' ]; then cat '${join(stubs, 'refusal')}' >&2; exit 1; fi\nexit 0\n`;
      await writeFile(join(stubs, command), script);
      await chmod(join(stubs, command), 0o755);
    }
    initComm = join(stubs, 'comm');
    process.env.PATH = `${stubs}${delimiter}${originalPath}`;
  });
  afterEach(async () => {
    process.env.PATH = originalPath;
    await box?.close();
    box = null;
  });

  /** The stand-ins' calls so far, one line each: the command and its arguments. */
  const asked = async () =>
    (await readFile(join(stubs, 'asked'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  const powerBox = (client: Client, action: string) =>
    box!.app.inject({
      method: 'POST',
      url: '/api/v1/box/power',
      headers: as(client),
      payload: { action },
    });
  const announced = () =>
    box!.services.events
      .since(0)!
      .filter((event) => event.type === 'box.power')
      .map((event) => event.data);

  it('asks systemd under systemd, announcing who asked, and refuses operators and bad actions', async () => {
    await writeFile(initComm, 'systemd\n');
    box = await makeAppliance({ power: hostPowerControl({ initCommFile: initComm }) });
    const admin = await setupAdmin(box.app);

    const rebooted = await powerBox(admin, 'reboot');
    expect(rebooted.statusCode).toBe(202);
    expect(rebooted.json()).toMatchObject({ action: 'reboot', by: admin.userId });
    expect(await asked()).toEqual(['systemctl reboot']);
    const poweredOff = await powerBox(admin, 'poweroff');
    expect(poweredOff.statusCode).toBe(202);
    expect(await asked()).toEqual(['systemctl reboot', 'systemctl poweroff']);
    expect(announced()).toEqual([rebooted.json(), poweredOff.json()]);

    const bad = await powerBox(admin, 'halt-and-catch-fire');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });

    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'operator password', role: 'operator' },
    });
    const operator = await login(box.app, 'olga', 'operator password');
    const refused = await powerBox(operator, 'poweroff');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await asked()).toEqual(['systemctl reboot', 'systemctl poweroff']);
  });

  it("runs the init system's own poweroff and reboot when process 1 is not systemd", async () => {
    await writeFile(initComm, 'init\n');
    box = await makeAppliance({ power: hostPowerControl({ initCommFile: initComm }) });
    const admin = await setupAdmin(box.app);
    expect((await powerBox(admin, 'poweroff')).statusCode).toBe(202);
    expect((await powerBox(admin, 'reboot')).statusCode).toBe(202);
    expect(await asked()).toEqual(['poweroff', 'reboot']);
  });

  it("passes the host's refusal on in its own words, without announcing it", async () => {
    await writeFile(initComm, 'systemd\n');
    await writeFile(join(stubs, 'refusal'), 'Interactive authentication required.\n');
    box = await makeAppliance({ power: hostPowerControl({ initCommFile: initComm }) });
    const admin = await setupAdmin(box.app);
    const refused = await powerBox(admin, 'poweroff');
    expect(refused.statusCode).toBe(500);
    expect(refused.json()).toEqual({
      error: {
        code: 'POWER_FAILED',
        message: 'The box could not power off: Interactive authentication required.',
        details: { action: 'poweroff', reason: 'Interactive authentication required.' },
      },
    });
    expect(await asked()).toEqual(['systemctl poweroff']);
    expect(announced()).toEqual([]);
  });

  it('says which command is missing when the host has none to ask', async () => {
    await writeFile(initComm, 'init\n');
    box = await makeAppliance({ power: hostPowerControl({ initCommFile: initComm }) });
    const admin = await setupAdmin(box.app);
    process.env.PATH = join(stubs, 'empty');
    const refused = await powerBox(admin, 'reboot');
    expect(refused.statusCode).toBe(500);
    expect(refused.json()).toMatchObject({
      error: {
        code: 'POWER_FAILED',
        message: expect.stringMatching(/^The box could not reboot: .*reboot ENOENT/),
        details: { action: 'reboot' },
      },
    });
    expect(announced()).toEqual([]);
  });

  it('says so when the appliance has no power control', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const none = await powerBox(admin, 'reboot');
    expect(none.json()).toMatchObject({
      error: { code: 'POWER_FAILED', message: expect.stringContaining('without power control') },
    });
    expect(announced()).toEqual([]);
  });
});

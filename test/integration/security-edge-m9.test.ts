import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { build } from '../../appliance/src/app.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import {
  makeAppliance,
  tempDir,
  testSetupCode,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { setupBody, useEdgeCleanups } from '../fixtures/edge-cleanups.ts';

/**
 * The box itself decides (M9): the first administrator is made only from the box (a remote client
 * needs the setup code from its screen or log, which works once), and a foreign Host, as DNS
 * rebinding brings, is refused on every listener.
 */

let box: TestAppliance | undefined;
const { cleanups } = useEdgeCleanups(() => box);

describe('M9: the first administrator is made only from the box itself', () => {
  it('M9: a remote client before setup is refused with SETUP_CODE_REQUIRED, and a wrong code too', async () => {
    box = await makeAppliance();
    const bare = await box.app.inject({ method: 'POST', url: '/api/v1/setup', payload: setupBody });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error).toMatchObject({
      code: 'SETUP_CODE_REQUIRED',
      details: { field: 'setupCode' },
    });
    const wrong = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { ...setupBody, setupCode: 'AAAA-BBBB-CCCC' },
    });
    expect(wrong.json().error.code).toBe('SETUP_CODE_REQUIRED');
    expect(box.services.store.data.users).toEqual([]);
    const status = (await box.app.inject({ url: '/api/v1/setup' })).json();
    expect(status).toMatchObject({ needsAdmin: true, setupCodeRequired: true, setupCode: null });
  });

  it("M9: local setup works: on the box's own screen no code is needed, and the screen shows the code", async () => {
    box = await makeAppliance();
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    const status = (await screen.inject({ url: '/api/v1/setup' })).json();
    expect(status).toMatchObject({
      needsAdmin: true,
      setupCodeRequired: false,
      setupCode: testSetupCode,
    });

    const created = await screen.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: setupBody,
    });
    expect(created.statusCode).toBe(201);
    expect(box.services.store.data.users).toHaveLength(1);
    expect((await screen.inject({ url: '/api/v1/setup' })).json()).toMatchObject({
      needsAdmin: false,
      setupCode: null,
    });
  });

  it('M9: the setup code works once, typed in any case and spacing', async () => {
    box = await makeAppliance();
    const typed = testSetupCode.toLowerCase().replace(/-/g, ' ');
    const first = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { ...setupBody, setupCode: typed },
    });
    expect(first.statusCode).toBe(201);
    const again = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'second', password: 'another long password', setupCode: testSetupCode },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_SET_UP');
    expect(box.services.setupCode.current).toBeNull();
    expect(box.services.store.data.users.map((user) => user.username)).toEqual(['admin']);
  });

  it('M9: concurrent setups make exactly one administrator', async () => {
    box = await makeAppliance();
    // On the box's own screen, where no code is needed, and with the code from elsewhere, at once.
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    const answers = await Promise.all([
      ...[1, 2, 3].map((n) =>
        screen.inject({
          method: 'POST',
          url: '/api/v1/setup',
          payload: { username: `admin${n}`, password: 'correct horse battery' },
        }),
      ),
      ...[4, 5].map((n) =>
        box!.app.inject({
          method: 'POST',
          url: '/api/v1/setup',
          payload: {
            username: `admin${n}`,
            password: 'correct horse battery',
            setupCode: testSetupCode,
          },
        }),
      ),
    ]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    for (const answer of answers.filter((each) => each.statusCode === 409))
      expect(answer.json().error.code).toBe('ALREADY_SET_UP');
    expect(box.services.store.data.users).toHaveLength(1);
    // Only the winner got a session.
    expect(box.services.store.data.sessions).toHaveLength(1);
  });

  it('M9: a real appliance prints the setup code in its log; it creates the administrator from elsewhere once', async () => {
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const appliance: ApplianceProcess = await startAppliance(dataDir, { BIVOUAC_SETUP_CODE: '' });
    cleanups.push(() => appliance.stop());
    const logged = appliance.logs.find((line) => typeof line.setupCode === 'string');
    const code = logged?.setupCode as string;
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(String(logged?.msg)).toContain(code);

    const post = (body: object) =>
      fetch(`${appliance.url}/api/v1/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post(setupBody)).status).toBe(403);
    expect((await post({ ...setupBody, setupCode: code })).status).toBe(201);
    expect(
      (await post({ username: 'other', password: 'another long password', setupCode: code }))
        .status,
    ).toBe(409);
  });
});

/** A plain HTTP GET with a Host header of the test's choosing (fetch does not allow setting it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('M9: the Host allowlist (DNS rebinding)', () => {
  it('M9: a foreign Host is refused with HOST_NOT_ALLOWED on every listener, before setup or sign-in', async () => {
    box = await makeAppliance();
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    for (const app of [box.app, screen]) {
      for (const host of ['attacker.example', 'attacker.example:8080', '127.0.0.1.nip.io']) {
        const refused = await app.inject({ url: '/api/v1/setup', headers: { host } });
        expect(refused.statusCode, host).toBe(421);
        expect(refused.json().error).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
      }
      const setup = await app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        headers: { host: 'attacker.example' },
        payload: { ...setupBody, setupCode: testSetupCode },
      });
      expect(setup.json().error.code).toBe('HOST_NOT_ALLOWED');
      for (const host of [
        'localhost:8080',
        '127.0.0.1:8443',
        '[::1]:8080',
        hostname(),
        `${hostname()}.local:8443`,
      ]) {
        expect(
          (await app.inject({ url: '/api/v1/setup', headers: { host } })).statusCode,
          host,
        ).toBe(200);
      }
    }
    expect(box.services.store.data.users).toEqual([]);
  });

  it('M9: a real appliance refuses a foreign Host and answers its own names', async () => {
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const appliance = await startAppliance(dataDir, { BIVOUAC_HOST_NAMES: 'box.field.example' });
    cleanups.push(() => appliance.stop());
    const port = new URL(appliance.url).port;
    const refused = await getWithHost(`${appliance.url}/api/v1/setup`, `attacker.example:${port}`);
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body).error.code).toBe('HOST_NOT_ALLOWED');
    expect(
      (await getWithHost(`${appliance.url}/api/v1/setup`, `box.field.example:${port}`)).status,
    ).toBe(200);
    expect((await getWithHost(`${appliance.url}/api/v1/setup`, `127.0.0.1:${port}`)).status).toBe(
      200,
    );
  });
});

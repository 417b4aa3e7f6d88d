import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { LoginThrottle } from '../../appliance/src/api/auth/login-throttle.ts';
import { build } from '../../appliance/src/app.ts';
import type { MainDocument } from '../../appliance/src/store/document.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import {
  freePort,
  sendJson,
  signInSession,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';

const builtIn = fileURLToPath(new URL('../../appliance/apps', import.meta.url));

/** The id the box's screen sends when it signs in (the shell keeps it in a file). */
const screenId = 'screen-0123456789abcdef';

/** Kiosk mode of the box's screen: a session locked to the app store until the admin's PIN is given. */
describe('kiosk mode', () => {
  let box: TestAppliance;
  /** The same appliance on its local listener, where the box's own screen signs in. */
  let local: FastifyInstance;
  let admin: Client;
  let now = 0;

  beforeEach(async () => {
    now = Date.now();
    box = await makeAppliance({
      appsDir: join(await tempDir('bivouac-apps-'), 'apps'),
      throttle: new LoginThrottle({ freeFailures: 3, now: () => now }),
    });
    await box.services.apps.recover();
    local = await build(box.services, { listener: 'local' });
    admin = await setupAdmin(box.app);
  });
  afterEach(async () => {
    await local.close();
    await box.services.clouds.close();
    await box.close();
  });

  /** Signs in on the local listener as the box's screen: a kiosk session. */
  const screenLogin = () => login(local, 'admin', 'correct horse battery', screenId);

  const call = (
    client: Client | { authorization: string },
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
    app: FastifyInstance = box.app,
  ) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      headers: 'cookie' in client ? as(client) : client,
      ...(payload ? { payload } : {}),
    });

  it('keeps the PIN scrypt-hashed, set and cleared by administrators only', async () => {
    expect((await call(admin, 'GET', '/kiosk')).json()).toEqual({
      pinSet: false,
      locked: false,
      isScreen: false,
    });
    await call(admin, 'POST', '/users', {
      username: 'olga',
      password: 'operator password',
      role: 'operator',
    });
    const olga = await login(box.app, 'olga', 'operator password');
    const refused = await call(olga, 'PUT', '/kiosk/pin', { pin: '2468' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('FORBIDDEN');

    const bad = await call(admin, 'PUT', '/kiosk/pin', { pin: '12a4' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('4 to 12 digits');

    const set = await call(admin, 'PUT', '/kiosk/pin', { pin: '2468' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({ pinSet: true, locked: false, isScreen: false });
    expect(box.services.store.data.settings.kioskPinHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(box.services.store.data)).not.toContain('2468');
    expect((await call(olga, 'GET', '/kiosk')).json()).toEqual({
      pinSet: true,
      locked: false,
      isScreen: false,
    });

    expect((await call(admin, 'DELETE', '/kiosk/pin')).statusCode).toBe(204);
    expect(box.services.store.data.settings.kioskPinHash).toBeNull();
  });

  it('refuses to lock without a PIN to leave with, and locks only browser sessions', async () => {
    const screen = await screenLogin();
    const withoutPin = await call(screen, 'POST', '/kiosk/lock', undefined, local);
    expect(withoutPin.statusCode).toBe(409);
    expect(withoutPin.json().error.code).toBe('KIOSK_PIN_NOT_SET');

    await call(admin, 'PUT', '/kiosk/pin', { pin: '2468' });
    const { token } = (await call(admin, 'POST', '/tokens', { name: 'script' })).json<{
      token: string;
    }>();
    const viaToken = await call({ authorization: `Bearer ${token}` }, 'POST', '/kiosk/lock');
    expect(viaToken.statusCode).toBe(403);
    expect(viaToken.json().error.message).toContain('browser session');
  });

  it('opens only the app store while locked, for admins too, until the PIN is given', async () => {
    await box.services.apps.installBuiltIn(builtIn);
    await call(admin, 'PUT', '/kiosk/pin', { pin: '2468' });
    const screen = await screenLogin();
    const locked = await call(screen, 'POST', '/kiosk/lock', undefined, local);
    expect(locked.json()).toEqual({ pinSet: true, locked: true, isScreen: true });
    const events = box.services.events.since(0)!.filter((event) => event.subject.kind === 'kiosk');
    expect(events.map((event) => event.type)).toEqual(['kiosk.pin-set', 'kiosk.locked']);

    for (const url of ['/apps', '/apps/hello-web', '/clouds', '/session', '/kiosk']) {
      expect((await call(screen, 'GET', url, undefined, local)).statusCode, url).toBe(200);
    }
    expect((await call(screen, 'POST', '/apps/hello-web/preflight', {}, local)).statusCode).toBe(
      200,
    );
    for (const [method, url] of [
      ['GET', '/users'],
      ['GET', '/runs'],
      ['GET', '/modules'],
      ['POST', '/tokens'],
      ['DELETE', '/session'],
      ['DELETE', '/kiosk/pin'],
    ] as const) {
      const response = await call(
        screen,
        method,
        url,
        method === 'POST' ? { name: 'x' } : undefined,
        local,
      );
      expect(response.statusCode, url).toBe(403);
      expect(response.json().error.code, url).toBe('KIOSK_LOCKED');
    }
    // The lock belongs to that session only: the administrator elsewhere is not locked.
    expect((await call(admin, 'GET', '/users')).statusCode).toBe(200);

    const wrong = await call(screen, 'POST', '/kiosk/unlock', { pin: '1357' }, local);
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toMatchObject({ code: 'WRONG_PIN', message: 'Wrong PIN.' });
    const right = await call(screen, 'POST', '/kiosk/unlock', { pin: '2468' }, local);
    expect(right.statusCode).toBe(200);
    expect(right.json()).toEqual({ pinSet: true, locked: false, isScreen: true });
    expect((await call(screen, 'GET', '/users', undefined, local)).statusCode).toBe(200);
  });

  it('throttles wrong PINs like sign-ins', async () => {
    await call(admin, 'PUT', '/kiosk/pin', { pin: '2468' });
    const screen = await screenLogin();
    await call(screen, 'POST', '/kiosk/lock', undefined, local);
    for (let attempt = 0; attempt < 4; attempt += 1)
      expect(
        (await call(screen, 'POST', '/kiosk/unlock', { pin: '0000' }, local)).json().error.code,
      ).toBe('WRONG_PIN');
    const throttled = await call(screen, 'POST', '/kiosk/unlock', { pin: '2468' }, local);
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error).toMatchObject({
      code: 'PIN_THROTTLED',
      details: { retryAfterSeconds: 1 },
    });
    // Sign-in for the same address is not held back by wrong PINs.
    expect(
      (
        await box.app.inject({
          method: 'POST',
          url: '/api/v1/session',
          payload: { username: 'admin', password: 'correct horse battery' },
        })
      ).statusCode,
    ).toBe(200);
    now += 1500;
    expect((await call(screen, 'POST', '/kiosk/unlock', { pin: '2468' }, local)).json()).toEqual({
      pinSet: true,
      locked: false,
      isScreen: true,
    });
  });

  it('keeps the lock in the store, and clearing the PIN releases locked screens', async () => {
    await call(admin, 'PUT', '/kiosk/pin', { pin: '2468' });
    const screen = await screenLogin();
    await call(screen, 'POST', '/kiosk/lock', undefined, local);
    const onDisk = JSON.parse(
      await readFile(join(box.dataDir, 'bivouac.json'), 'utf8'),
    ) as MainDocument;
    expect(onDisk.sessions.filter((session) => session.kiosk)).toHaveLength(1);
    expect(onDisk.settings.kioskPinHash).toMatch(/^scrypt\$/);

    expect((await call(admin, 'DELETE', '/kiosk/pin')).statusCode).toBe(204);
    expect((await call(screen, 'GET', '/kiosk', undefined, local)).json()).toEqual({
      pinSet: false,
      locked: false,
      isScreen: true,
    });
    expect((await call(screen, 'GET', '/users', undefined, local)).statusCode).toBe(200);
  });
});

/**
 * The README's promise "refused with KIOSK_LOCKED, across reloads and restarts", on the real
 * appliance process: the box's screen signs in on the local listener, is locked, and after
 * SIGTERM and a new start on the same data dir its session is still refused.
 */
describe('kiosk mode across a restart of the appliance', () => {
  const password = 'correct horse battery';
  let appliance: ApplianceProcess | null = null;
  afterEach(async () => {
    await appliance?.stop();
    appliance = null;
  });

  /** Signs in over HTTP; the screen does so on the local listener with its id. */
  const signIn = (base: string, extra: object = {}) =>
    signInSession(base, 'admin', password, extra);

  /** /healthz answers once the main listener is up; the local one follows, then 'listening'. */
  const bothListening = (started: ApplianceProcess) =>
    vi.waitFor(() => expect(started.logs.map((line) => line.msg)).toContain('listening'), {
      timeout: 30_000,
      interval: 20,
    });

  it('stays locked across a restart: the screen is still refused with KIOSK_LOCKED', async () => {
    const dataDir = await tempDir();
    const localListen = `127.0.0.1:${await freePort()}`;
    const local = `http://${localListen}`;
    const env = { BIVOUAC_ADMIN_PASSWORD: password, BIVOUAC_LOCAL_LISTEN: localListen };
    appliance = await startAppliance(dataDir, env);
    await bothListening(appliance);
    const admin = await signIn(appliance.url);
    expect(
      (await sendJson(appliance.url, admin, 'PUT', '/kiosk/pin', { pin: '2468' })).status,
    ).toBe(200);
    const screen = await signIn(local, { screenId });
    expect((await sendJson(local, screen, 'POST', '/kiosk/lock')).body).toEqual({
      pinSet: true,
      locked: true,
      isScreen: true,
    });
    expect(await sendJson(local, screen, 'GET', '/users')).toMatchObject({
      status: 403,
      body: { error: { code: 'KIOSK_LOCKED' } },
    });

    expect(await appliance.stop()).toBe(0);
    appliance = await startAppliance(dataDir, env);
    await bothListening(appliance);
    expect(await sendJson(local, screen, 'GET', '/kiosk')).toEqual({
      status: 200,
      body: { pinSet: true, locked: true, isScreen: true },
    });
    expect(await sendJson(local, screen, 'GET', '/users')).toMatchObject({
      status: 403,
      body: { error: { code: 'KIOSK_LOCKED' } },
    });
    expect(await sendJson(local, screen, 'GET', '/apps')).toMatchObject({ status: 200 });
    // The PIN still opens it, on the new process.
    expect((await sendJson(local, screen, 'POST', '/kiosk/unlock', { pin: '2468' })).body).toEqual({
      pinSet: true,
      locked: false,
      isScreen: true,
    });
    expect((await sendJson(local, screen, 'GET', '/users')).status).toBe(200);
  }, 120_000);
});

describe('pre-flight for the deploy form', () => {
  let box: TestAppliance;
  let admin: Client;

  beforeEach(async () => {
    box = await makeAppliance({ appsDir: join(await tempDir('bivouac-apps-'), 'apps') });
    await box.services.apps.recover();
    admin = await setupAdmin(box.app);
    await box.services.apps.installBuiltIn(builtIn);
  });
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  it('names each node with its cloud, size and cloud choice, so the form can limit sizes to what is left', async () => {
    const preflight = await box.app.inject({
      method: 'POST',
      url: '/api/v1/apps/cluster/preflight',
      headers: as(admin),
      payload: { multiplicity: { member: 3 } },
    });
    expect(preflight.json().nodes).toEqual([
      {
        name: 'member',
        cloudId: 'box',
        multiplicity: 3,
        resources: { vcpu: 1, memoryMiB: 128, diskGiB: 1 },
        cloudChoice: 'any',
      },
    ]);
  });
});

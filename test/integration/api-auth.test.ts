import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../appliance/src/api/auth/login-throttle.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  testSetupCode,
  type TestAppliance,
} from '../fixtures/appliance.ts';

let box: TestAppliance;

beforeEach(async () => {
  box = await makeAppliance();
});
afterEach(async () => {
  await box.close();
});

describe('first run', () => {
  it('allows only admin creation until an admin exists', async () => {
    const status = await box.app.inject({ method: 'GET', url: '/api/v1/setup' });
    expect(status.json()).toMatchObject({ needsAdmin: true });

    for (const [method, url] of [
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/session'],
      ['GET', '/api/v1/tokens'],
    ] as const) {
      const response = await box.app.inject(
        method === 'POST'
          ? { method, url, payload: { username: 'x', password: 'y' } }
          : { method, url },
      );
      expect(response.statusCode, url).toBe(409);
      expect(response.json().error.code).toBe('SETUP_REQUIRED');
    }

    const admin = await setupAdmin(box.app);
    expect(admin.cookie).toMatch(/^bivouac_session=bvs_/);
    const again = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'other', password: 'long enough password' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_SET_UP');
    expect(box.services.store.data.users).toHaveLength(1);
  });

  it('sets an HttpOnly, SameSite=Strict cookie, not Secure over plain HTTP', async () => {
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'admin', password: 'correct horse battery', setupCode: testSetupCode },
    });
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain('Secure');
  });

  it('stores scrypt hashes, never passwords', async () => {
    await setupAdmin(box.app, 'admin', 'correct horse battery');
    const [user] = box.services.store.data.users;
    expect(user?.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(JSON.stringify(box.services.store.data)).not.toContain('correct horse battery');
  });
});

describe('sessions and roles', () => {
  it('lets an admin create users who then sign in with their role', async () => {
    const admin = await setupAdmin(box.app);
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'operator password', role: 'operator' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).not.toHaveProperty('passwordHash');

    const olga = await login(box.app, 'olga', 'operator password');
    const me = await box.app.inject({
      method: 'GET',
      url: '/api/v1/session',
      headers: { cookie: olga.cookie },
    });
    expect(me.json().user).toMatchObject({ username: 'olga', role: 'operator' });

    const forbidden = await box.app.inject({
      method: 'GET',
      url: '/api/v1/users',
      headers: { cookie: olga.cookie },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('FORBIDDEN');
    // Names alone are for everyone signed in: who owns a run, whom to share with.
    const names = await box.app.inject({
      method: 'GET',
      url: '/api/v1/users/names',
      headers: { cookie: olga.cookie },
    });
    expect(names.json()).toEqual([
      { id: admin.userId, username: 'admin' },
      { id: olga.userId, username: 'olga' },
    ]);
    expect((await box.app.inject({ method: 'GET', url: '/api/v1/users/names' })).statusCode).toBe(
      401,
    );
  });

  it('answers 401 without credentials and with a forged cookie', async () => {
    await setupAdmin(box.app);
    const none = await box.app.inject({ method: 'GET', url: '/api/v1/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().error.code).toBe('UNAUTHENTICATED');
    const forged = await box.app.inject({
      method: 'GET',
      url: '/api/v1/tokens',
      headers: { cookie: 'bivouac_session=bvs_forged' },
    });
    expect(forged.statusCode).toBe(401);
  });

  it('refuses cookie-authenticated changes without the CSRF header', async () => {
    const admin = await setupAdmin(box.app);
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { cookie: admin.cookie },
      payload: { username: 'olga', password: 'operator password', role: 'operator' },
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().error.code).toBe('CSRF_FAILED');
    expect(box.services.store.data.users).toHaveLength(1);
  });

  it('gives the same answer for an unknown user and a wrong password', async () => {
    await setupAdmin(box.app);
    const unknown = await box.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { username: 'nobody', password: 'whatever it is' },
    });
    const wrong = await box.app.inject({
      method: 'POST',
      url: '/api/v1/session',
      payload: { username: 'admin', password: 'wrong password!' },
    });
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('logs out: the cookie stops working', async () => {
    const admin = await setupAdmin(box.app);
    const out = await box.app.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: as(admin),
    });
    expect(out.statusCode).toBe(204);
    const after = await box.app.inject({
      method: 'GET',
      url: '/api/v1/session',
      headers: { cookie: admin.cookie },
    });
    expect(after.statusCode).toBe(401);
  });

  it('never leaves the box without an enabled admin', async () => {
    const admin = await setupAdmin(box.app);
    const demote = await box.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.userId}`,
      headers: as(admin),
      payload: { role: 'viewer' },
    });
    expect(demote.statusCode).toBe(409);
    expect(demote.json().error.code).toBe('LAST_ADMIN');
    const remove = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${admin.userId}`,
      headers: as(admin),
    });
    expect(remove.json().error.code).toBe('LAST_ADMIN');
    expect(box.services.store.data.users[0]?.role).toBe('admin');
  });

  it('lets a user change their own password only with the current one', async () => {
    const admin = await setupAdmin(box.app, 'admin', 'correct horse battery');
    const wrong = await box.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.userId}`,
      headers: as(admin),
      payload: { password: 'a new long password', currentPassword: 'not it at all' },
    });
    expect(wrong.json().error.code).toBe('WRONG_PASSWORD');
    const right = await box.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${admin.userId}`,
      headers: as(admin),
      payload: { password: 'a new long password', currentPassword: 'correct horse battery' },
    });
    expect(right.statusCode).toBe(200);
    await expect(login(box.app, 'admin', 'a new long password')).resolves.toBeTruthy();
  });
});

describe('API tokens', () => {
  it('are shown once, stored hashed, work as bearer tokens and can be revoked', async () => {
    const admin = await setupAdmin(box.app);
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: as(admin),
      payload: { name: 'cli' },
    });
    expect(created.statusCode).toBe(201);
    const { token, id } = created.json<{ token: string; id: string }>();
    expect(token).toMatch(/^bvt_/);
    expect(JSON.stringify(box.services.store.data)).not.toContain(token);

    const listed = await box.app.inject({
      method: 'GET',
      url: '/api/v1/tokens',
      headers: { cookie: admin.cookie },
    });
    expect(listed.json()).toEqual([expect.objectContaining({ id, name: 'cli' })]);
    expect(listed.body).not.toContain(token);

    const bearer = { authorization: `Bearer ${token}` };
    const users = await box.app.inject({ method: 'GET', url: '/api/v1/users', headers: bearer });
    expect(users.statusCode).toBe(200);
    // No CSRF header needed with a bearer token.
    const change = await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: bearer,
      payload: { name: 'second' },
    });
    expect(change.statusCode).toBe(201);

    const revoked = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/tokens/${id}`,
      headers: bearer,
    });
    expect(revoked.statusCode).toBe(204);
    const after = await box.app.inject({ method: 'GET', url: '/api/v1/users', headers: bearer });
    expect(after.statusCode).toBe(401);
  });
});

describe('login throttling', () => {
  it('backs off after repeated failures and clears on success', async () => {
    let now = 1_000_000;
    await box.close();
    box = await makeAppliance({
      throttle: new LoginThrottle({ freeFailures: 3, baseDelayMs: 2000, now: () => now }),
    });
    await setupAdmin(box.app, 'admin', 'correct horse battery');
    const attempt = (password: string) =>
      box.app.inject({
        method: 'POST',
        url: '/api/v1/session',
        payload: { username: 'admin', password },
      });
    for (let i = 0; i < 4; i += 1) expect((await attempt('wrong password')).statusCode).toBe(401);
    const throttled = await attempt('correct horse battery');
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error).toMatchObject({
      code: 'LOGIN_THROTTLED',
      details: { retryAfterSeconds: 2 },
    });
    now += 2001;
    expect((await attempt('wrong password')).statusCode).toBe(401);
    const longer = await attempt('correct horse battery');
    expect(longer.json().error.details.retryAfterSeconds).toBe(4);
    now += 4001;
    expect((await attempt('correct horse battery')).statusCode).toBe(200);
    expect((await attempt('wrong password')).statusCode).toBe(401);
  });
});

import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { otherScreenId, password, screenId, useSignInBox } from '../fixtures/sign-in-box.ts';

/**
 * Only the box screen's kiosk session can lock the screen or try its PIN (M3). Across trust
 * boundaries (issue 12), on the box of test/fixtures/sign-in-box.ts.
 */
describe('sign-in, sessions and kiosk mode', () => {
  let box: TestAppliance;
  let local: FastifyInstance;
  let admin: Client;
  const { call, codeOf, installApps, lockedScreen } = useSignInBox(
    (parts) => ({ box, local, admin } = parts),
  );

  describe('M3: only the box screen’s kiosk session can lock or try the PIN', () => {
    it('M3: a session elsewhere cannot lock or try the PIN, nor open a kiosk session', async () => {
      await call(box.app, admin, 'PUT', '/kiosk/pin', { pin: '2468' });
      await call(box.app, admin, 'POST', '/users', {
        username: 'vic',
        password: 'viewer-password-1',
        role: 'viewer',
      });
      const vic = await login(box.app, 'vic', 'viewer-password-1');
      for (const url of ['/kiosk/lock', '/kiosk/unlock']) {
        const refused = await call(
          box.app,
          vic,
          'POST',
          url,
          url.endsWith('unlock') ? { pin: '2468' } : undefined,
        );
        expect(refused.statusCode, url).toBe(403);
        expect(refused.json().error.code, url).toBe('KIOSK_SCREEN_ONLY');
      }
      // A session on the local listener without the kiosk flag is no kiosk session either.
      const plain = await login(local, 'vic', 'viewer-password-1');
      expect(codeOf(await call(local, plain, 'POST', '/kiosk/lock'))).toBe('KIOSK_SCREEN_ONLY');
      // The kiosk flag is refused off the local listener.
      const remote = await call(box.app, null, 'POST', '/session', {
        username: 'admin',
        password,
        screenId,
      });
      expect(remote.statusCode).toBe(403);
      expect(remote.json().error).toMatchObject({
        code: 'KIOSK_SCREEN_ONLY',
        details: { field: 'screenId' },
      });
      // A kiosk session's cookie counts only on the local listener it was opened on.
      const screen = await login(local, 'admin', password, screenId);
      expect((await call(local, screen, 'GET', '/kiosk')).json()).toEqual({
        pinSet: true,
        locked: false,
        isScreen: true,
      });
      expect((await call(box.app, screen, 'GET', '/kiosk')).statusCode).toBe(401);
    });

    it('M3: wrong PINs at another screen do not keep this screen locked', async () => {
      await call(box.app, admin, 'POST', '/users', {
        username: 'olga',
        password: 'operator password',
        role: 'operator',
      });
      const mine = await lockedScreen();
      const other = await lockedScreen('olga', 'operator password', otherScreenId);
      for (let attempt = 0; attempt < 8; attempt += 1)
        await call(local, other, 'POST', '/kiosk/unlock', { pin: '0000' });
      expect(codeOf(await call(local, other, 'POST', '/kiosk/unlock', { pin: '2468' }))).toBe(
        'PIN_THROTTLED',
      );
      const unlocked = await call(local, mine, 'POST', '/kiosk/unlock', { pin: '2468' });
      expect(unlocked.statusCode).toBe(200);
      expect(unlocked.json()).toEqual({ pinSet: true, locked: false, isScreen: true });
    });

    it('M3: runs started from a kiosk session carry its screen id', async () => {
      await installApps();
      const screen = await lockedScreen();
      const deployed = await call(local, screen, 'POST', '/apps/hello-web/deploy', {});
      expect(deployed.statusCode, deployed.body).toBe(201);
      const run = deployed.json<{ id: string; screenId?: string }>();
      expect(run.screenId).toBe(screenId);
      expect(
        box.services.store.data.runs.find((candidate) => candidate.id === run.id)?.screenId,
      ).toBe(screenId);
      const elsewhere = await call(box.app, admin, 'POST', '/apps/hello-web/deploy', {});
      expect(elsewhere.json<{ screenId?: string }>().screenId).toBeUndefined();
    });
  });
});

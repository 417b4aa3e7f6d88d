import { describe, expect, it } from 'vitest';
import { login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { password, useSignInBox } from '../fixtures/sign-in-box.ts';

/**
 * A new password ends every session and token, and its check is throttled (L1). Across trust
 * boundaries (issue 12), on the box of test/fixtures/sign-in-box.ts.
 */
describe('sign-in, sessions and kiosk mode', () => {
  let box: TestAppliance;
  let admin: Client;
  const { call, signIn, codeOf, tally, untilThrottled } = useSignInBox(
    (parts) => ({ box, admin } = parts),
  );

  describe('L1: a new password ends every session and token, and its check is throttled', () => {
    it('L1: changing a password ends API tokens and sessions', async () => {
      const { token } = (await call(box.app, admin, 'POST', '/tokens', { name: 'script' })).json<{
        token: string;
      }>();
      const other = await login(box.app, 'admin', password);
      const changed = await call(box.app, admin, 'PATCH', `/users/${admin.userId}`, {
        password: 'a brand new password',
        currentPassword: password,
      });
      expect(changed.statusCode).toBe(200);
      const viaToken = await box.app.inject({
        method: 'GET',
        url: '/api/v1/session',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(viaToken.statusCode).toBe(401);
      expect((await call(box.app, other, 'GET', '/session')).statusCode).toBe(401);
      expect(box.services.store.data.apiTokens).toHaveLength(0);
    });

    it('L1: wrong current passwords are throttled like sign-ins', async () => {
      const stolen = await login(box.app, 'admin', password);
      const guesses = () =>
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            call(box.app, stolen, 'PATCH', `/users/${admin.userId}`, {
              password: 'attacker password 1',
              currentPassword: `guess ${i}`,
            }),
          ),
        );
      const answers = await untilThrottled(guesses);
      const counts = tally(answers);
      expect(counts.WRONG_PASSWORD ?? 0).toBeLessThanOrEqual(5);
      expect((counts.LOGIN_THROTTLED ?? 0) + (counts.AUTH_BUSY ?? 0)).toBeGreaterThanOrEqual(
        answers.length - 5,
      );
      // They are the sign-in's attempts too: no second budget of guesses through the other door.
      expect(codeOf(await signIn('admin', password, '127.0.0.1'))).toBe('LOGIN_THROTTLED');
    });
  });
});

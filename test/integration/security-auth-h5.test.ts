import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { TestAppliance } from '../fixtures/appliance.ts';
import { password, useSignInBox } from '../fixtures/sign-in-box.ts';

/**
 * Every password and PIN guess is counted before it is checked, and hashing is bounded box-wide
 * (H5). Across trust boundaries (issue 12), on the box of test/fixtures/sign-in-box.ts.
 */
describe('sign-in, sessions and kiosk mode', () => {
  let box: TestAppliance;
  let local: FastifyInstance;
  const { call, signIn, codeOf, tally, untilThrottled, lockedScreen } = useSignInBox(
    (parts) => ({ box, local } = parts),
  );

  describe('H5: guesses are counted before they are checked, and hashing is bounded', () => {
    it('H5: a parallel burst of 300 wrong passwords from one address checks at most 5', async () => {
      const burst = () =>
        Promise.all(
          Array.from({ length: 300 }, (_, i) => signIn('admin', `wrong guess ${i}`, '203.0.113.7')),
        );
      const answers = await untilThrottled(burst);
      const counts = tally(answers);
      // Only a checked password can be answered INVALID_CREDENTIALS; the rest were refused unchecked.
      expect(counts.INVALID_CREDENTIALS ?? 0).toBeLessThanOrEqual(5);
      expect((counts.LOGIN_THROTTLED ?? 0) + (counts.AUTH_BUSY ?? 0)).toBeGreaterThanOrEqual(
        answers.length - 5,
      );
      expect(box.services.passwordChecks.checked).toBeLessThanOrEqual(5);
      // The right password from that address waits too: the throttle holds after the bursts.
      expect(codeOf(await signIn('admin', password, '203.0.113.7'))).toBe('LOGIN_THROTTLED');
    }, 120_000); // without the bound, every guess is hashed: 300 take half a minute on a small box

    it('H5: the right password from another address still signs in while an attacker hammers from one', async () => {
      const hammer = () =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) => signIn('admin', `guess ${i}`, '203.0.113.7')),
        );
      await untilThrottled(hammer);
      const [, answer] = await Promise.all([hammer(), signIn('admin', password, '198.51.100.2')]);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ user: { username: 'admin' } });
    });

    it('H5: hashes in flight are capped box-wide; a guess beyond the cap is answered at once', async () => {
      const spread = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          signIn(`user${i}`, 'some wrong password', `192.0.2.${i + 1}`),
        ),
      );
      const counts = tally(spread);
      expect(counts.AUTH_BUSY ?? 0).toBeGreaterThan(0);
      const busy = spread.find((response) => codeOf(response) === 'AUTH_BUSY')!;
      expect(busy.statusCode).toBe(429);
      expect(busy.json().error.details).toEqual({ retryAfterSeconds: 1 });
      expect(box.services.passwordChecks.peakInFlight).toBeLessThanOrEqual(4);
      // Once the burst is over, hashing is free again.
      expect(codeOf(await signIn('admin', password, '198.51.100.2'))).toBe('200');
    });

    it('H5: a burst of PIN guesses from the locked screen checks at most 5', async () => {
      const screen = await lockedScreen();
      const burst = () =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            call(local, screen, 'POST', '/kiosk/unlock', { pin: String(1000 + i) }),
          ),
        );
      const counts = tally(await untilThrottled(burst, 'PIN_THROTTLED'));
      expect(counts.WRONG_PIN ?? 0).toBeLessThanOrEqual(5);
      expect(counts.PIN_THROTTLED ?? 0).toBeGreaterThan(0);
      expect(counts['200'] ?? 0).toBe(0);
    });
  });
});

import { randomBytes, scrypt } from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../appliance/src/api/auth/accounts.ts';
import { describe, expect, it, vi } from 'vitest';

// The real node:crypto, with timingSafeEqual watched: the CSRF check must go through it.
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof NodeCrypto>();
  return { ...real, default: real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

const { timingSafeEqual } = await import('node:crypto');
const { requireCsrf } = await import('../../appliance/src/api/auth/request-auth.ts');
const { hashPassword, verifyPassword } = await import('../../appliance/src/secrets.ts');

const csrfToken = `csrf_${randomBytes(32).toString('base64url')}`;
const principal = { via: 'session', session: { csrfToken } } as unknown as Principal;
const change = (header: string | undefined) =>
  ({
    method: 'POST',
    headers: header === undefined ? {} : { 'x-csrf-token': header },
  }) as unknown as FastifyRequest;

describe('secrets', () => {
  it('L5: the CSRF token is compared in constant time, over equal-length buffers', () => {
    const compare = vi.mocked(timingSafeEqual);
    compare.mockClear();
    expect(() => requireCsrf(change(csrfToken), principal)).not.toThrow();
    const wrongSameLength = `${csrfToken.slice(0, -1)}${csrfToken.endsWith('A') ? 'B' : 'A'}`;
    expect(() => requireCsrf(change(wrongSameLength), principal)).toThrow(
      expect.objectContaining({ code: 'CSRF_FAILED' }),
    );
    expect(() => requireCsrf(change('short'), principal)).toThrow(
      expect.objectContaining({ code: 'CSRF_FAILED' }),
    );
    expect(() => requireCsrf(change(undefined), principal)).toThrow(
      expect.objectContaining({ code: 'CSRF_FAILED' }),
    );
    // Every token given was compared with timingSafeEqual, the short one too (no early length exit).
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [a, b] of compare.mock.calls)
      expect((a as Buffer).length).toBe((b as Buffer).length);
  });

  it('L10: new hashes use scrypt N=2^15; hashes made with N=2^14 keep verifying', async () => {
    const made = await hashPassword('a long enough password');
    expect(made.split('$').slice(0, 4)).toEqual(['scrypt', '32768', '8', '1']);
    expect(await verifyPassword('a long enough password', made)).toBe(true);

    // A hash as the appliance stored it before: scrypt$16384$8$1$salt$key.
    const salt = randomBytes(16);
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt(
        'an older password',
        salt,
        32,
        { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 },
        (error, derived) => (error ? reject(error) : resolve(derived)),
      ),
    );
    const old = ['scrypt', 16384, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
    expect(await verifyPassword('an older password', old)).toBe(true);
    expect(await verifyPassword('not the password', old)).toBe(false);
  });
});

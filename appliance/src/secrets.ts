import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * scrypt at N=2^15 (32 MiB, r=8): above the floor of current guidance, and affordable because at
 * most a few hashes run at once (see PasswordChecks). Each hash names its own parameters, so hashes
 * made with N=2^14 before this keep verifying.
 */
const scryptParams = { N: 32768, r: 8, p: 1 } as const;
/** Room for the largest parameters this appliance has used (128 * N * r bytes, plus slack). */
const maxmem = 64 * 1024 * 1024;
const keyLength = 32;

function derive(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { ...params, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash`, parameters kept so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, scryptParams);
  const { N, r, p } = scryptParams;
  return ['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), {
    N: Number(N),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to check against when the user does not exist, so both answers take as long. */
export const decoyHash = await hashPassword(randomBytes(12).toString('base64'));

/** A high-entropy secret (session cookie, API token); stored only as `hashSecret`. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Secrets are random and long, so a plain SHA-256 is the right lookup hash for them. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * Compares a secret a client sent with the expected one in constant time: both are hashed to
 * equal-length digests first, so neither the position of the first difference nor the length
 * shows in the time taken.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { PublisherKey } from '../domain/apps.ts';
import { BivouacError } from '../errors.ts';
import { refused } from './bundle-format.ts';

export interface SigningKey extends PublisherKey {
  privateKeyPem: string;
}

export type Verdict<Key extends PublisherKey = PublisherKey> =
  { signed: true; publisher: Key } | { signed: false; reason: string };

/** SIGNATURE's text for `checksums` signed by `signer`: its key id and an ed25519 signature. */
export function signatureOf(checksums: Buffer, signer: SigningKey): string {
  const signature = sign(null, checksums, createPrivateKey(signer.privateKeyPem)).toString(
    'base64',
  );
  return JSON.stringify({ publisher: signer.keyId, algorithm: 'ed25519', signature });
}

/** The verdict on SIGNATURE: by a trusted key (and then it must match), or unsigned with the reason. */
export function checkSignature<Key extends PublisherKey>(
  text: Buffer,
  checksums: Buffer,
  trusted: readonly Key[],
): Verdict<Key> {
  let signature: { publisher?: unknown; algorithm?: unknown; signature?: unknown };
  try {
    signature = JSON.parse(text.toString('utf8')) as typeof signature;
  } catch {
    throw refused('SIGNATURE is not valid JSON.');
  }
  if (
    signature === null ||
    typeof signature !== 'object' ||
    signature.algorithm !== 'ed25519' ||
    typeof signature.publisher !== 'string' ||
    typeof signature.signature !== 'string'
  ) {
    throw refused(
      'SIGNATURE must be {"publisher": key id, "algorithm": "ed25519", "signature": base64}.',
    );
  }
  const keyId = signature.publisher;
  const key = trusted.find((candidate) => candidate.keyId === keyId);
  if (!key)
    return {
      signed: false,
      reason: `signed by ${keyId.slice(0, 64)}, which is not a trusted publisher`,
    };
  const valid = verify(
    null,
    checksums,
    publicKeyObject(key.publicKey),
    Buffer.from(signature.signature, 'base64'),
  );
  if (!valid)
    throw refused(
      `The signature does not match: the bundle was altered after ${key.keyId} signed it.`,
      { publisher: key.keyId },
    );
  return { signed: true, publisher: key };
}

/** A new ed25519 publisher key. */
export function newSigningKey(): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    ...publisherOf(publicKey),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** A publisher key from its raw base64 form, checked. */
export function publisherKey(rawBase64: string): PublisherKey {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32)
    throw new BivouacError(
      'VALIDATION_FAILED',
      'A publisher key is the base64 of a raw 32-byte ed25519 public key.',
      { fields: [{ field: 'publicKey', message: 'must be 32 bytes, base64' }] },
    );
  return publisherOf(publicKeyObject(rawBase64));
}

function publisherOf(publicKey: KeyObject): PublisherKey {
  const raw = Buffer.from((publicKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return {
    keyId: createHash('sha256').update(raw).digest('hex').slice(0, 16),
    publicKey: raw.toString('base64'),
  };
}

function publicKeyObject(rawBase64: string): KeyObject {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(rawBase64, 'base64').toString('base64url') },
    format: 'jwk',
  });
}

import { X509Certificate } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { makeDirectoryDurably, readText, writeFileDurably } from '../store/durable-json-file.ts';

export interface TlsIdentity {
  key: string;
  cert: string;
  /** SHA-256 of the certificate, colon-separated hex: what a remote administrator compares. */
  fingerprint: string;
  created: boolean;
}

/**
 * The box's HTTPS identity: a self-signed certificate made on first start and kept in the data
 * dir, for every name and address the box answers on.
 */
export async function ensureTlsIdentity(dataDir: string, now = new Date()): Promise<TlsIdentity> {
  const directory = join(dataDir, 'tls');
  const keyPath = join(directory, 'key.pem');
  const certPath = join(directory, 'cert.pem');
  const [existingKey, existingCert] = await Promise.all([readText(keyPath), readText(certPath)]);
  if (existingKey && existingCert) {
    return {
      key: existingKey,
      cert: existingCert,
      fingerprint: fingerprintOf(existingCert),
      created: false,
    };
  }
  await makeDirectoryDurably(directory, 0o700);
  const notAfter = new Date(now);
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  // Loaded only to make the certificate, once in the box's life: it weighs some 3 MiB of heap.
  const { generate } = await import('selfsigned');
  const pems = await generate(
    [
      { name: 'commonName', value: hostname() },
      { name: 'organizationName', value: 'Bivouac' },
    ],
    {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: now,
      notAfterDate: notAfter,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: altNames() },
      ],
    },
  );
  await writeFileDurably(keyPath, pems.private);
  await writeFileDurably(certPath, pems.cert);
  return {
    key: pems.private,
    cert: pems.cert,
    fingerprint: fingerprintOf(pems.cert),
    created: true,
  };
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

function altNames(): { type: 2 | 7; value?: string; ip?: string }[] {
  const names: { type: 2 | 7; value?: string; ip?: string }[] = [
    { type: 2, value: hostname() },
    { type: 2, value: 'localhost' },
  ];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? [])
      names.push({ type: 7, ip: address.address.split('%')[0] ?? address.address });
  }
  return names;
}

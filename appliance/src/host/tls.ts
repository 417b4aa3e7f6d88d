import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { generate } from 'selfsigned';
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
  const pems = await generateInWorker(
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

/**
 * selfsigned's `generate`, run in a worker thread: the library and what it loads (ASN.1 and
 * X.509 code, some 5 MiB of the process's memory) live in the worker's heap, which goes with it,
 * rather than in the appliance's for the rest of its life. It runs once in the box's life.
 */
async function generateInWorker(
  ...[attributes, options]: Parameters<typeof generate>
): Promise<{ private: string; cert: string }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    require(workerData.library)
      .generate(workerData.attributes, workerData.options)
      .then((pems) => parentPort.postMessage({ private: pems.private, cert: pems.cert }));`,
    {
      eval: true,
      workerData: {
        library: createRequire(import.meta.url).resolve('selfsigned'),
        attributes,
        options,
      },
    },
  );
  // A failure in the worker is its 'error' event, which rejects the wait.
  const [pems] = (await once(worker, 'message')) as [{ private: string; cert: string }];
  return pems;
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

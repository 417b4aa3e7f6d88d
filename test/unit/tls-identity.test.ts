import { X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ensureTlsIdentity } from '../../appliance/src/host/tls.ts';
import { tempDir } from '../fixtures/appliance.ts';

const require = createRequire(import.meta.url);

describe("the box's HTTPS identity", () => {
  it('is made once, in a worker: the certificate library never joins the appliance', async () => {
    const dataDir = await tempDir('bivouac-tls-');
    const made = await ensureTlsIdentity(dataDir, new Date('2026-12-07T00:00:00Z'));
    expect(made.created).toBe(true);
    const cert = new X509Certificate(made.cert);
    expect(cert.validFrom).toBe('Dec  7 00:00:00 2026 GMT');
    expect(cert.validTo).toBe('Dec  7 00:00:00 2036 GMT');
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(made.key))).toBe(
      true,
    );
    expect(made.fingerprint).toBe(cert.fingerprint256);
    // Loaded in this process, the library would be in the module cache for good.
    const library = require.resolve('selfsigned');
    expect(Object.keys(require.cache)).not.toContain(library);

    const again = await ensureTlsIdentity(dataDir);
    expect(again).toEqual({ ...made, created: false });
  });
});

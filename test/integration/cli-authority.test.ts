import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../appliance/src/host/tls.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { otherFingerprint, password, runCli, type Outcome } from '../fixtures/cli-box.ts';

/**
 * A box whose certificate an authority on this machine vouches for (a test CA made with openssl,
 * given to the CLI by NODE_EXTRA_CA_CERTS): `login` needs no fingerprint there, and one given is
 * still checked (README, "The CLI").
 */
describe('the bivouac CLI and a certificate an authority vouches for', { timeout: 120_000 }, () => {
  let appliance: ApplianceProcess;
  let caFile: string;
  let fingerprint: string;

  beforeAll(async () => {
    const pki = await tempDir('bivouac-cli-ca-');
    const dataDir = await tempDir('bivouac-cli-ca-box-');
    const tlsDir = join(dataDir, 'tls');
    await mkdir(tlsDir, { recursive: true, mode: 0o700 });
    caFile = join(pki, 'ca.pem');
    const openssl = (...args: string[]) =>
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(pki, 'ca.key'),
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=Bivouac test authority',
    );
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(pki, 'box.csr'),
      '-subj',
      '/CN=127.0.0.1',
    );
    await writeFile(
      join(pki, 'box.ext'),
      'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      join(pki, 'box.csr'),
      '-CA',
      caFile,
      '-CAkey',
      join(pki, 'ca.key'),
      '-CAcreateserial',
      '-out',
      join(tlsDir, 'cert.pem'),
      '-days',
      '2',
      '-extfile',
      join(pki, 'box.ext'),
    );
    fingerprint = fingerprintOf(await readFile(join(tlsDir, 'cert.pem'), 'utf8'));
    appliance = await startAppliance(dataDir, {
      BIVOUAC_TLS: 'always',
      BIVOUAC_ADMIN_PASSWORD: password,
    });
  });
  afterAll(async () => {
    await appliance?.stop();
  });

  const login = async (extra: string[]): Promise<Outcome> => {
    const config = join(await tempDir('bivouac-cli-ca-home-'), 'bivouac', 'cli.json');
    return runCli(['login', appliance.url, '--user', 'admin', '--password-stdin', ...extra], {
      stdin: `${password}\n`,
      env: { BIVOUAC_CLI_CONFIG: config, NODE_EXTRA_CA_CERTS: caFile },
    });
  };

  it('signs in without --fingerprint, and still refuses a --fingerprint that is not the certificate', async () => {
    // The box serves the certificate it was given, not one of its own making.
    expect(appliance.logs.some((line) => JSON.stringify(line).includes(fingerprint))).toBe(true);
    const vouched = await login([]);
    expect(vouched).toMatchObject({ code: 0, err: '' });
    const other = otherFingerprint(fingerprint);
    const mismatch = await login(['--fingerprint', other]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toContain(
      `CERTIFICATE_MISMATCH: The box presents the certificate ${fingerprint}, not ${other}`,
    );
    expect(await login(['--fingerprint', fingerprint])).toMatchObject({ code: 0, err: '' });
  });
});

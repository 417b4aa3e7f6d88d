import { readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { ensureTlsIdentity, fingerprintOf } from '../../appliance/src/host/tls.ts';
import type { ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { otherFingerprint, password, useCliBox } from '../fixtures/cli-box.ts';

/**
 * Signing in with the CLI: only to the certificate the box shows, a token kept for this user alone
 * and sent nowhere else, a token from the environment for scripts, and logging out. Each test
 * spawns the built CLI up to twenty times, against the appliance process of
 * test/fixtures/cli-box.ts.
 */
describe('the bivouac CLI: signing in', { timeout: 180_000 }, () => {
  let appliance: ApplianceProcess;
  let dataDir: string;
  let config: string;
  let fingerprint: string;
  const { cli, login, signIn } = useCliBox(
    (parts) => ({ appliance, dataDir, config, fingerprint } = parts),
  );

  it('signs in only once the box certificate is the one the box shows, then keeps a token for this user alone', async () => {
    expect(appliance.url).toMatch(/^https:/);
    const before = await cli(['runs']);
    expect(before).toMatchObject({ code: 1, out: '' });
    expect(before.err).toContain(
      'NOT_SIGNED_IN: Not signed in: run `bivouac login URL --user NAME` first',
    );

    const unknown = await login([]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('CERTIFICATE_UNKNOWN');
    expect(unknown.err).toContain(`--fingerprint ${fingerprint}`);
    const other = await login(['--fingerprint', otherFingerprint(fingerprint)]);
    expect(other.code).toBe(1);
    expect(other.err).toContain(
      `CERTIFICATE_MISMATCH: The box presents the certificate ${fingerprint}`,
    );
    const wrong = await login(
      ['--fingerprint', fingerprint.toLowerCase().replaceAll(':', '')],
      'not the password',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^INVALID_CREDENTIALS: /);
    await expect(stat(config)).rejects.toThrow(/ENOENT/);

    const signedIn = await login(['--fingerprint', fingerprint.toLowerCase().replaceAll(':', '')]);
    expect(signedIn.err).toBe('');
    expect(signedIn.code).toBe(0);
    expect(signedIn.out).toContain(`Signed in to ${appliance.url} as admin`);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(config, 'utf8')) as {
      token: string;
      certificate: string;
    };
    expect(fingerprintOf(saved.certificate)).toBe(fingerprint);

    // Signing in again replaces the token: the one it replaces is revoked on the box.
    expect((await login(['--fingerprint', fingerprint])).code).toBe(0);
    const old = await cli(['clouds'], {
      env: {
        BIVOUAC_URL: appliance.url,
        BIVOUAC_TOKEN: saved.token,
        BIVOUAC_FINGERPRINT: fingerprint,
      },
    });
    expect(old.code).toBe(1);
    expect(old.err).toMatch(/^UNAUTHENTICATED: /);
    expect((await cli(['clouds'])).code).toBe(0);

    const clear = await cli(
      ['login', 'http://10.0.0.1:8080', '--user', 'admin', '--password-stdin'],
      { stdin: 'x\n' },
    );
    expect(clear.code).toBe(2);
    expect(clear.err).toContain(
      'over http:// the password and the token would travel in clear; use https://',
    );
  });

  it('sends nothing to a server presenting another certificate, at login or after it', async () => {
    await signIn();
    const impostor = await ensureTlsIdentity(await tempDir('bivouac-cli-impostor-'));
    const received: Buffer[] = [];
    const server = createServer({ key: impostor.key, cert: impostor.cert }, (socket) =>
      socket.on('data', (chunk: Buffer) => received.push(chunk)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const impostorUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const atLogin = await cli(
        ['login', impostorUrl, '--user', 'admin', '--password-stdin', '--fingerprint', fingerprint],
        { stdin: `${password}\n` },
      );
      expect(atLogin.code).toBe(1);
      expect(atLogin.err).toContain(
        `CERTIFICATE_MISMATCH: The box presents the certificate ${impostor.fingerprint}, not ${fingerprint}`,
      );

      // A saved login pointed at it: the pinned certificate is refused before the token goes out.
      const saved = await readFile(config, 'utf8');
      await writeFile(config, JSON.stringify({ ...JSON.parse(saved), url: impostorUrl }), {
        mode: 0o600,
      });
      const after = await cli(['runs']);
      await writeFile(config, saved, { mode: 0o600 });
      expect(after.code).toBe(1);
      expect(after.err).toContain(
        `CERTIFICATE_CHANGED: The box at ${impostorUrl} no longer presents the certificate signed in with (${fingerprint})`,
      );
      expect(Buffer.concat(received).length).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('takes a token from the environment for scripts, pinned by BIVOUAC_FINGERPRINT', async () => {
    await signIn();
    const { token } = JSON.parse(await readFile(config, 'utf8')) as { token: string };
    const env = {
      BIVOUAC_URL: appliance.url,
      BIVOUAC_TOKEN: token,
      BIVOUAC_CLI_CONFIG: join(dataDir, 'none.json'),
    };
    const unpinned = await cli(['clouds'], { env });
    expect(unpinned.code).toBe(1);
    expect(unpinned.err).toMatch(
      /^CERTIFICATE_UNKNOWN: No authority on this machine vouches for the certificate of the box at \S+ \(self-signed certificate\)\. Sign in with `bivouac login`, which pins it, or set BIVOUAC_FINGERPRINT\. Nothing was sent\./,
    );
    expect(
      (await cli(['clouds'], { env: { ...env, BIVOUAC_FINGERPRINT: fingerprint } })).code,
    ).toBe(0);
  });

  it('refuses a saved login it cannot read, and logs out by revoking the token', async () => {
    await signIn();
    const saved = await readFile(config, 'utf8');
    const { token } = JSON.parse(saved) as { token: string };
    await writeFile(config, JSON.stringify({ ...JSON.parse(saved), url: 'not a url' }));
    const broken = await cli(['runs']);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`BAD_CONFIG: ${config} is not a saved Bivouac login (url: `);
    await writeFile(config, saved, { mode: 0o600 });

    const out = await cli(['logout']);
    expect(out).toMatchObject({ code: 0, out: `Signed out of ${appliance.url}.\n` });
    await expect(stat(config)).rejects.toThrow(/ENOENT/);
    // The token is gone from the box too.
    const after = await cli(['clouds'], {
      env: { BIVOUAC_URL: appliance.url, BIVOUAC_TOKEN: token, BIVOUAC_FINGERPRINT: fingerprint },
    });
    expect(after.code).toBe(1);
    expect(after.err).toMatch(/^UNAUTHENTICATED: /);
  });
});

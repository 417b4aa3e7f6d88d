import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../appliance/src/host/tls.ts';
import { freePort, startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { assertApplianceBuilt, builtServerEntry } from '../fixtures/built-appliance.ts';

/** Runs the appliance to completion (for starts that must fail) and returns its exit and stderr. */
async function runToExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stderr: string }> {
  assertApplianceBuilt();
  const child = spawn(process.execPath, [builtServerEntry], {
    env: {
      ...process.env,
      BIVOUAC_LOCAL_LISTEN: 'off',
      BIVOUAC_LISTEN: `127.0.0.1:${await freePort()}`,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

function httpsGet(
  url: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, method: url.endsWith('/session') ? 'POST' : 'GET' },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    req.on('error', reject);
    if (url.endsWith('/session')) {
      req.setHeader('content-type', 'application/json');
      req.end(JSON.stringify({ username: 'admin', password: 'first admin password' }));
    } else req.end();
  });
}

describe('the appliance process', () => {
  it('serves HTTPS with its own certificate, shows the fingerprint, and marks cookies Secure', async () => {
    const dataDir = await tempDir();
    const port = await freePort();
    // A first plain-HTTP run makes the admin and the certificate; then the same box starts with TLS.
    await (
      await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: 'first admin password' })
    ).stop();
    const child = spawn(process.execPath, [builtServerEntry], {
      env: {
        ...process.env,
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_LISTEN: `127.0.0.1:${port}`,
        BIVOUAC_LOCAL_LISTEN: 'off',
        BIVOUAC_TLS: 'always',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let logs = '';
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString()));
    try {
      const cert = await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8');
      const url = `https://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      let health = await httpsGet(`${url}/healthz`, cert).catch(() => null);
      // Until it is ready (the shipped catalog in), /healthz answers 503 "starting".
      while (health?.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        health = await httpsGet(`${url}/healthz`, cert).catch(() => null);
      }
      expect(health?.status).toBe(200);
      expect(health?.headers['strict-transport-security']).toBeDefined();

      const fingerprint = fingerprintOf(cert);
      const setup = JSON.parse((await httpsGet(`${url}/api/v1/setup`, cert)).body);
      expect(setup.tlsFingerprint).toBe(fingerprint);
      expect(logs).toContain(fingerprint);

      const login = await httpsGet(`${url}/api/v1/session`, cert);
      expect(login.status).toBe(200);
      expect(String(login.headers['set-cookie'])).toMatch(/; Secure/);

      // Plain HTTP is not answered on the TLS port.
      await expect(
        fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.status),
      ).rejects.toThrow();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('creates the first admin from BIVOUAC_ADMIN_PASSWORD only when none exists', async () => {
    const dataDir = await tempDir();
    const first = await startAppliance(dataDir, { BIVOUAC_ADMIN_PASSWORD: 'first admin password' });
    await first.stop();
    const second = await startAppliance(dataDir, {
      BIVOUAC_ADMIN_PASSWORD: 'another password here',
    });
    const login = (password: string) =>
      fetch(`${second.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
    expect((await login('first admin password')).status).toBe(200);
    expect((await login('another password here')).status).toBe(401);
    await second.stop();
  });

  // SIGTERM (systemd, the Electron shell) and SIGINT (Ctrl-C) run the same whole shutdown.
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops on %s within 5 s, ending open event streams and flushing the store',
    async (signal) => {
      const dataDir = await tempDir();
      const appliance = await startAppliance(dataDir, {
        BIVOUAC_ADMIN_PASSWORD: 'first admin password',
      });
      const login = await fetch(`${appliance.url}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'first admin password' }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const stream = await fetch(`${appliance.url}/api/v1/events`, { headers: { cookie } });
      expect(stream.status).toBe(200);
      const reading = (async () => {
        const reader = stream.body!.getReader();
        while (!(await reader.read()).done) {
          // drain until the server ends the stream
        }
        return 'ended';
      })();
      // The appliance holds itself to the 5 s: past its own deadline (4.5 s) it exits with 1 and
      // says so. Exit code 0 (not death by the signal) is a stop that finished in time, however
      // busy the machine running it.
      expect(await appliance.stop(signal)).toBe(0);
      expect(appliance.child.signalCode).toBeNull();
      await expect(reading).resolves.toBe('ended');
      expect(appliance.logs.find((entry) => entry.msg === 'shutting down')).toMatchObject({
        signal,
      });
      expect(appliance.logs.at(-1)).toMatchObject({ msg: 'stopped' });
      expect(appliance.logs.map((entry) => entry.msg)).not.toContain(
        'shutdown took too long; exiting anyway',
      );
      const document = JSON.parse(await readFile(join(dataDir, 'bivouac.json'), 'utf8'));
      expect(document.sessions).toHaveLength(1);
    },
  );

  it('refuses to start on a corrupt store, naming the file and the last good backup', async () => {
    const dataDir = await tempDir();
    await (await startAppliance(dataDir)).stop();
    await (await startAppliance(dataDir)).stop();
    await writeFile(join(dataDir, 'bivouac.json'), '{"schemaVersion":1,"users":[');
    const { code, stderr } = await runToExit({ BIVOUAC_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain(join(dataDir, 'bivouac.json'));
    expect(stderr).toMatch(/cp .*backups\/.*\.json/);
    expect(await readFile(join(dataDir, 'bivouac.json'), 'utf8')).toBe(
      '{"schemaVersion":1,"users":[',
    );
  });

  it('refuses a bad config, naming the key', async () => {
    const dataDir = await tempDir();
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ sessionHours: 'forever', colour: 'blue' }),
    );
    const { code, stderr } = await runToExit({ BIVOUAC_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/sessionHours/);
    expect(stderr).toMatch(/colour/);
  });

  it('serves plain HTTP only on loopback', async () => {
    const dataDir = await tempDir();
    const { code, stderr } = await runToExit({
      BIVOUAC_DATA_DIR: dataDir,
      BIVOUAC_LOCAL_LISTEN: '0.0.0.0:18999',
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/not a loopback address/);
  });
});

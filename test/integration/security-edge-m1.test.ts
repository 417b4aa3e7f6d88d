import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect, createServer as createTcpServer, type Server } from 'node:net';
import { request as playwrightRequest } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { build } from '../../appliance/src/app.ts';
import { ensureTlsIdentity } from '../../appliance/src/host/tls.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { setupBody, useEdgeCleanups } from '../fixtures/edge-cleanups.ts';

/**
 * The UI is never served under the host of the apps' services, and its session cookie is __Host-
 * prefixed over HTTPS (M1).
 */

let box: TestAppliance | undefined;
const { cleanups, listenOn } = useEdgeCleanups(() => box);

describe("M1: the UI is never served under the host of the apps' services", () => {
  it("M1: after signing in, a guest's HTTPS server on another port of the service host receives no session cookie", async () => {
    box = await makeAppliance();
    await setupAdmin(box.app);
    const tls = await ensureTlsIdentity(box.dataDir);
    // The box's UI name is 127.0.0.1; the apps' services are published on its address 127.0.0.2.
    const serviceHost = '127.0.0.2';
    const uiPort = await freePort();
    const ui = await build(box.services, {
      https: { key: tls.key, cert: tls.cert },
      hosts: { names: ['127.0.0.1'], serviceHost, uiUrl: `https://127.0.0.1:${uiPort}/` },
    });
    await ui.listen({ host: '127.0.0.1', port: uiPort });
    cleanups.push(() => ui.close());
    // The box is reachable at its service address too (as a LAN address is): a relay stands in for it.
    const relay = await relayTo(serviceHost, uiPort);
    // A guest serving HTTPS on a published port of the service host, recording what it is sent.
    const received: (string | undefined)[] = [];
    const guest = createHttpsServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      received.push(request.headers.cookie);
      response.end('a guest app');
    });
    await new Promise<void>((resolve) => guest.listen(0, serviceHost, resolve));
    cleanups.push(() => new Promise((resolve) => guest.close(resolve)));
    const guestPort = (guest.address() as { port: number }).port;

    // A client with a browser's cookie rules (Playwright's, which follow Chromium's) signs in at the
    // box's address as its apps' links show it, and follows the box to the UI when sent there.
    const browser = await playwrightRequest.newContext({ ignoreHTTPSErrors: true });
    cleanups.push(() => browser.dispose());
    const credentials = { username: 'admin', password: 'correct horse battery' };
    let signIn = await browser.post(`https://${serviceHost}:${relay}/api/v1/session`, {
      data: credentials,
    });
    if (signIn.status() === 421) {
      const { error } = (await signIn.json()) as {
        error: { code: string; details: { uiUrl: string } };
      };
      expect(error.code).toBe('UI_NOT_ON_SERVICE_HOST');
      expect(error.details.uiUrl).toBe(`https://127.0.0.1:${uiPort}/`);
      signIn = await browser.post(`${error.details.uiUrl}api/v1/session`, { data: credentials });
    }
    expect(signIn.status()).toBe(200);

    expect((await browser.get(`https://${serviceHost}:${guestPort}/`)).status()).toBe(200);
    expect(received).toHaveLength(1);
    expect(received[0] ?? '').not.toContain('bvs_');
    // The browser is signed in, under the UI's name.
    expect((await browser.get(`https://127.0.0.1:${uiPort}/api/v1/session`)).status()).toBe(200);
  });

  it('M1: the UI under the service host answers a short page that links to the UI, and /healthz still answers', async () => {
    box = await makeAppliance();
    const app = await build(box.services, {
      hosts: { names: [], serviceHost: '10.1.2.3', uiUrl: 'https://box.example:8443/' },
    });
    cleanups.push(() => app.close());
    const page = await app.inject({
      url: '/',
      headers: { host: '10.1.2.3:8443', accept: 'text/html' },
    });
    expect(page.statusCode).toBe(421);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('href="https://box.example:8443/"');
    const api = await app.inject({ url: '/api/v1/setup', headers: { host: '10.1.2.3:8443' } });
    expect(api.json().error).toMatchObject({
      code: 'UI_NOT_ON_SERVICE_HOST',
      details: { uiUrl: 'https://box.example:8443/' },
    });
    expect(
      (await app.inject({ url: '/healthz', headers: { host: '10.1.2.3:8443' } })).statusCode,
    ).toBe(200);
  });
});

/** An HTTPS request to the test's own appliance (its certificate is self-signed). */
function httpsCall(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: object } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        rejectUnauthorized: false,
        headers: { ...options.headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

describe('M1: the cookie prefix (defence in depth)', () => {
  it('M1: over HTTPS the session cookie is __Host-bivouac_session: Secure, Path=/, no Domain, and it signs in', async () => {
    box = await makeAppliance();
    const tls = await ensureTlsIdentity(box.dataDir);
    const app = await build(box.services, { https: { key: tls.key, cert: tls.cert } });
    const url = `https://127.0.0.1:${await listenOn(app)}/api/v1`;
    await box.services.accounts.createUser(setupBody.username, setupBody.password, 'admin', null);
    const created = await httpsCall(`${url}/session`, { method: 'POST', body: setupBody });
    expect(created.status).toBe(200);
    const cookie = String(created.headers['set-cookie']);
    expect(cookie).toMatch(/^__Host-bivouac_session=bvs_[^;]+; /);
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toMatch(/Domain=/i);
    const pair = cookie.split(';')[0]!;
    expect((await httpsCall(`${url}/session`, { headers: { cookie: pair } })).status).toBe(200);
    // The plain name, which a plain-HTTP page of the same host could set, is no session over HTTPS.
    expect(
      (await httpsCall(`${url}/session`, { headers: { cookie: pair.replace('__Host-', '') } }))
        .status,
    ).toBe(401);
    const { csrfToken } = JSON.parse(created.body) as { csrfToken: string };
    const out = await httpsCall(`${url}/session`, {
      method: 'DELETE',
      headers: { cookie: pair, 'x-csrf-token': csrfToken },
    });
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^__Host-bivouac_session=;.*Secure/);
  });
});

/** A TCP relay on `host` to the loopback port `target`: the box as reached at another of its addresses. */
async function relayTo(host: string, target: number): Promise<number> {
  const server: Server = createTcpServer((socket) => {
    const upstream = connect(target, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

import type { FastifyInstance } from 'fastify';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect, createServer as createTcpServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { request as playwrightRequest } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { build } from '../../appliance/src/app.ts';
import { limits } from '../../appliance/src/domain/limits.ts';
import { waitingConsoleReads, watchedConsoleLogs } from '../../appliance/src/host/console-log.ts';
import { ensureTlsIdentity } from '../../appliance/src/host/tls.ts';
import { freePort, startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  testSetupCode,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';
import { listen as listenEvents } from '../fixtures/sse.ts';

let box: TestAppliance | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await box?.close();
  box = undefined;
});

const setupBody = { username: 'admin', password: 'correct horse battery' };

async function listenOn(app: FastifyInstance, host = '127.0.0.1'): Promise<number> {
  await app.listen({ host, port: 0 });
  cleanups.push(() => app.close());
  return (app.server.address() as { port: number }).port;
}

describe('M9: the first administrator is made only from the box itself', () => {
  it('M9: a remote client before setup is refused with SETUP_CODE_REQUIRED, and a wrong code too', async () => {
    box = await makeAppliance();
    const bare = await box.app.inject({ method: 'POST', url: '/api/v1/setup', payload: setupBody });
    expect(bare.statusCode).toBe(403);
    expect(bare.json().error).toMatchObject({
      code: 'SETUP_CODE_REQUIRED',
      details: { field: 'setupCode' },
    });
    const wrong = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { ...setupBody, setupCode: 'AAAA-BBBB-CCCC' },
    });
    expect(wrong.json().error.code).toBe('SETUP_CODE_REQUIRED');
    expect(box.services.store.data.users).toEqual([]);
    const status = (await box.app.inject({ url: '/api/v1/setup' })).json();
    expect(status).toMatchObject({ needsAdmin: true, setupCodeRequired: true, setupCode: null });
  });

  it("M9: local setup works: on the box's own screen no code is needed, and the screen shows the code", async () => {
    box = await makeAppliance();
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    const status = (await screen.inject({ url: '/api/v1/setup' })).json();
    expect(status).toMatchObject({
      needsAdmin: true,
      setupCodeRequired: false,
      setupCode: testSetupCode,
    });

    const created = await screen.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: setupBody,
    });
    expect(created.statusCode).toBe(201);
    expect(box.services.store.data.users).toHaveLength(1);
    expect((await screen.inject({ url: '/api/v1/setup' })).json()).toMatchObject({
      needsAdmin: false,
      setupCode: null,
    });
  });

  it('M9: the setup code works once, typed in any case and spacing', async () => {
    box = await makeAppliance();
    const typed = testSetupCode.toLowerCase().replace(/-/g, ' ');
    const first = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { ...setupBody, setupCode: typed },
    });
    expect(first.statusCode).toBe(201);
    const again = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'second', password: 'another long password', setupCode: testSetupCode },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_SET_UP');
    expect(box.services.setupCode.current).toBeNull();
    expect(box.services.store.data.users.map((user) => user.username)).toEqual(['admin']);
  });

  it('M9: concurrent setups make exactly one administrator', async () => {
    box = await makeAppliance();
    // On the box's own screen, where no code is needed, and with the code from elsewhere, at once.
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    const answers = await Promise.all([
      ...[1, 2, 3].map((n) =>
        screen.inject({
          method: 'POST',
          url: '/api/v1/setup',
          payload: { username: `admin${n}`, password: 'correct horse battery' },
        }),
      ),
      ...[4, 5].map((n) =>
        box!.app.inject({
          method: 'POST',
          url: '/api/v1/setup',
          payload: {
            username: `admin${n}`,
            password: 'correct horse battery',
            setupCode: testSetupCode,
          },
        }),
      ),
    ]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([201, 409, 409, 409, 409]);
    for (const answer of answers.filter((each) => each.statusCode === 409))
      expect(answer.json().error.code).toBe('ALREADY_SET_UP');
    expect(box.services.store.data.users).toHaveLength(1);
    // Only the winner got a session.
    expect(box.services.store.data.sessions).toHaveLength(1);
  });

  it('M9: a real appliance prints the setup code in its log; it creates the administrator from elsewhere once', async () => {
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const appliance: ApplianceProcess = await startAppliance(dataDir, { BIVOUAC_SETUP_CODE: '' });
    cleanups.push(() => appliance.stop());
    const logged = appliance.logs.find((line) => typeof line.setupCode === 'string');
    const code = logged?.setupCode as string;
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect(String(logged?.msg)).toContain(code);

    const post = (body: object) =>
      fetch(`${appliance.url}/api/v1/setup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post(setupBody)).status).toBe(403);
    expect((await post({ ...setupBody, setupCode: code })).status).toBe(201);
    expect(
      (await post({ username: 'other', password: 'another long password', setupCode: code }))
        .status,
    ).toBe(409);
  });
});

/** A plain HTTP GET with a Host header of the test's choosing (fetch does not allow setting it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('M9: the Host allowlist (DNS rebinding)', () => {
  it('M9: a foreign Host is refused with HOST_NOT_ALLOWED on every listener, before setup or sign-in', async () => {
    box = await makeAppliance();
    const screen = await build(box.services, { listener: 'local' });
    cleanups.push(() => screen.close());
    for (const app of [box.app, screen]) {
      for (const host of ['attacker.example', 'attacker.example:8080', '127.0.0.1.nip.io']) {
        const refused = await app.inject({ url: '/api/v1/setup', headers: { host } });
        expect(refused.statusCode, host).toBe(421);
        expect(refused.json().error).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
      }
      const setup = await app.inject({
        method: 'POST',
        url: '/api/v1/setup',
        headers: { host: 'attacker.example' },
        payload: { ...setupBody, setupCode: testSetupCode },
      });
      expect(setup.json().error.code).toBe('HOST_NOT_ALLOWED');
      for (const host of [
        'localhost:8080',
        '127.0.0.1:8443',
        '[::1]:8080',
        hostname(),
        `${hostname()}.local:8443`,
      ]) {
        expect(
          (await app.inject({ url: '/api/v1/setup', headers: { host } })).statusCode,
          host,
        ).toBe(200);
      }
    }
    expect(box.services.store.data.users).toEqual([]);
  });

  it('M9: a real appliance refuses a foreign Host and answers its own names', async () => {
    const dataDir = await tempDir();
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const appliance = await startAppliance(dataDir, { BIVOUAC_HOST_NAMES: 'box.field.example' });
    cleanups.push(() => appliance.stop());
    const port = new URL(appliance.url).port;
    const refused = await getWithHost(`${appliance.url}/api/v1/setup`, `attacker.example:${port}`);
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body).error.code).toBe('HOST_NOT_ALLOWED');
    expect(
      (await getWithHost(`${appliance.url}/api/v1/setup`, `box.field.example:${port}`)).status,
    ).toBe(200);
    expect((await getWithHost(`${appliance.url}/api/v1/setup`, `127.0.0.1:${port}`)).status).toBe(
      200,
    );
  });
});

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

describe('M10: bounded work per request', () => {
  it("M10: a user's ninth event stream is refused with TOO_MANY_STREAMS; closing one makes room", async () => {
    box = await makeAppliance({ heartbeatSeconds: 0.2 });
    const admin = await setupAdmin(box.app);
    const port = await listenOn(box.app);
    const url = `http://127.0.0.1:${port}/api/v1/events`;
    const streams = Array.from({ length: limits.eventStreamsPerUser }, () =>
      listenEvents(url, { cookie: admin.cookie }),
    );
    cleanups.push(async () => Promise.all(streams.map((stream) => stream.close())));
    for (const stream of streams) await stream.waitFor(() => stream.status === 200);
    const ninth = await fetch(url, { headers: { cookie: admin.cookie } });
    expect(ninth.status).toBe(429);
    expect(
      ((await ninth.json()) as { error: { code: string; details: { limit: number } } }).error,
    ).toMatchObject({ code: 'TOO_MANY_STREAMS', details: { limit: limits.eventStreamsPerUser } });

    await streams[0]!.close();
    const deadline = Date.now() + 15_000;
    let again = await fetch(url, { headers: { cookie: admin.cookie } });
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      again = await fetch(url, { headers: { cookie: admin.cookie } });
    }
    expect(again.status).toBe(200);
    await again.body?.cancel();
  });

  it('M10: console waits per user are capped with TOO_MANY_WAITS, and a wait ends when the log grows', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const native = {
      libvirt: { imageId: await importPlaceholderImage(box.services, admin.userId) },
    };
    const put = (path: string, content: object) =>
      box!.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'm' },
      });
    await put('/c', { kind: 'project' });
    await put('/c/web', { kind: 'image', nativeImages: native });
    const run = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/c/web' },
      })
    ).json<{ id: string }>();
    // libvirt's test driver keeps no console logs: this run's console is a file of the test's own.
    const log = join(box.dataDir, 'console.log');
    await writeFile(log, 'boot\n');
    box.services.runs.consoleLog = () => log;
    // Each waits up to the longest allowed (60 s), twice the test's own limit: only the append
    // can answer them in time.
    const wait = () =>
      box!.app.inject({
        url: `/api/v1/runs/${run.id}/console/web.1?after=5&wait=${limits.consoleWaitSeconds}`,
        headers: as(admin),
      });
    const waiting = Array.from({ length: limits.consoleWaitsPerUser }, wait);
    await expect
      .poll(() => waitingConsoleReads(log), { timeout: 15_000 })
      .toBe(limits.consoleWaitsPerUser);
    const extra = await wait();
    expect(extra.statusCode).toBe(429);
    expect(extra.json().error).toMatchObject({
      code: 'TOO_MANY_WAITS',
      details: { limit: limits.consoleWaitsPerUser },
    });
    // The waits share one watcher on the file instead of each polling it.
    expect(watchedConsoleLogs()).toBe(1);
    await appendFile(log, 'login:\n');
    for (const answer of await Promise.all(waiting))
      expect(answer.json()).toMatchObject({ text: 'login:\n', fromBytes: 5 });
    expect(watchedConsoleLogs()).toBe(0);
    // Waits that ended give their slots back.
    const next = box.app.inject({
      url: `/api/v1/runs/${run.id}/console/web.1?after=12&wait=1`,
      headers: as(admin),
    });
    expect((await next).statusCode).toBe(200);
  });

  it("M10: an agent token's parameter waits are capped with TOO_MANY_WAITS", async () => {
    box = await makeAppliance({ runs: { retryMs: 100 } });
    const admin = await setupAdmin(box.app);
    const guests = new GuestStandIn(box.app, box.services);
    cleanups.push(() => guests.close());
    await box.services.runs.start();
    cleanups.push(() => box!.services.runs.stop());
    const native = {
      libvirt: { imageId: await importPlaceholderImage(box.services, admin.userId) },
    };
    const put = (path: string, content: object) =>
      box!.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'm' },
      });
    await put('/w', { kind: 'project' });
    await put('/w/web', { kind: 'image', nativeImages: native, outputs: [{ name: 'ready' }] });
    const run = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/runs',
        headers: as(admin),
        payload: { module: '/w/web' },
      })
    ).json<{ id: string }>();
    await box.services.runs.idle();
    const agent = await guests.agent(run.id, 'web.1');
    const get = () =>
      box!.app.inject({
        url: '/api/v1/agent/params/web.1:ready?wait=8',
        headers: { authorization: `Bearer ${agent.token}` },
      });
    const waiting = Array.from({ length: limits.agentWaitsPerInstance }, get);
    await expect
      .poll(() => box!.services.runs.waitingReads(run.id, 'web.1:ready'), { timeout: 15_000 })
      .toBe(limits.agentWaitsPerInstance);
    const extra = await get();
    expect(extra.statusCode).toBe(429);
    expect(extra.json().error).toMatchObject({
      code: 'TOO_MANY_WAITS',
      details: { limit: limits.agentWaitsPerInstance },
    });
    await agent.set('web.1:ready', 'yes');
    for (const answer of await Promise.all(waiting))
      expect(answer.json()).toMatchObject({ value: 'yes' });
    expect((await get()).statusCode).toBe(200);
  });

  it('M10: an unauthenticated request is answered before its body is read', async () => {
    box = await makeAppliance();
    await setupAdmin(box.app);
    const port = await listenOn(box.app);
    // Headers announcing a 200 KB body, and then nothing: the box must answer without waiting for it.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          `POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n{"username":`,
        );
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        resolve(text);
      }, 2000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
  });
});

describe('Range-416 and L9', () => {
  it('Range-416: a Range the file cannot satisfy answers 416 RANGE_NOT_SATISFIABLE, without signing in', async () => {
    const rendererDir = await tempDir('bivouac-renderer-');
    cleanups.push(() => rm(rendererDir, { recursive: true, force: true }));
    await mkdir(join(rendererDir, 'assets'));
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Bivouac</title>');
    await writeFile(join(rendererDir, 'assets', 'app-1234.js'), 'console.log("bivouac");\n');
    box = await makeAppliance({ rendererDir });
    for (const range of ['bytes=5-1', 'bytes=1000-2000']) {
      const response = await box.app.inject({ url: '/assets/app-1234.js', headers: { range } });
      expect(response.statusCode, range).toBe(416);
      expect(response.json().error.code, range).toBe('RANGE_NOT_SATISFIABLE');
    }
    const part = await box.app.inject({
      url: '/assets/app-1234.js',
      headers: { range: 'bytes=0-6' },
    });
    expect(part.statusCode).toBe(206);
    expect(part.body).toBe('console');
  });

  it('L9-param-length: an agent call with the longest valid parameter key reaches its route (not a 404)', async () => {
    box = await makeAppliance();
    await setupAdmin(box.app);
    const key = `${'n'.repeat(32)}.999:${'k'.repeat(64)}`;
    expect(key).toHaveLength(101);
    for (const encoded of [key, encodeURIComponent(key)]) {
      const response = await box.app.inject({
        url: `/api/v1/agent/params/${encoded}`,
        headers: { authorization: 'Bearer bva_not-a-token' },
      });
      expect(response.statusCode, encoded).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHENTICATED');
    }
    // Beyond the limit, the router's refusal has the registry's form.
    const tooLong = await box.app.inject({
      url: `/api/v1/agent/params/${'k'.repeat(limits.paramLength + 1)}`,
    });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: [{ field: 'params' }] },
    });
  });
});

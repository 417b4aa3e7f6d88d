import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../appliance/src/app.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  'x-kiosk'?: boolean;
}

/** A value for a path parameter: an id or name nothing on the box has. */
function placeholder(name: string): string {
  return name === 'instance'
    ? 'web.1'
    : name === 'name'
      ? 'deploy'
      : name === 'key'
        ? 'web.1:port'
        : 'nothing-here1234';
}

/**
 * The `x-kiosk` marks of the OpenAPI document against what a locked kiosk session may really
 * do: every operation a session may call is sent, over a real socket on the local listener, by
 * the box's screen locked to the app store (an administrator's session, so no role refuses it).
 */
describe('the x-kiosk marks in the OpenAPI document', () => {
  let box: TestAppliance;
  let local: FastifyInstance;
  let localUrl: string;
  let screen: Client;
  let operations: { method: string; path: string; operation: Operation }[];

  beforeAll(async () => {
    box = await makeAppliance({ appsDir: join(await tempDir('bivouac-apps-'), 'apps') });
    local = await build(box.services, { listener: 'local' });
    await local.listen({ host: '127.0.0.1', port: 0 });
    localUrl = `http://127.0.0.1:${(local.server.address() as AddressInfo).port}`;
    const admin = await setupAdmin(box.app);
    expect(
      (
        await box.app.inject({
          method: 'PUT',
          url: '/api/v1/kiosk/pin',
          headers: as(admin),
          payload: { pin: '2468' },
        })
      ).statusCode,
    ).toBe(200);
    screen = await login(local, 'admin', 'correct horse battery', 'screen-0123456789abcdef');
    const locked = await local.inject({
      method: 'POST',
      url: '/api/v1/kiosk/lock',
      headers: as(screen),
    });
    expect(locked.json()).toMatchObject({ locked: true });

    const document = (await box.app.inject('/api/v1/openapi.json')).json<{
      paths: Record<string, Record<string, Operation>>;
    }>();
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        operation,
      })),
    );
  });
  afterAll(async () => {
    await local?.close();
    await box?.services.clouds.close();
    await box?.close();
  });

  /** The status and error code a locked screen gets for an operation (a stream: its first answer). */
  async function asLockedScreen(
    method: string,
    path: string,
  ): Promise<{ status: number; code: string | null; type: string | null }> {
    const url = `${localUrl}${path.replace(/\{(\w+)\}/g, (_match, name: string) => placeholder(name))}`;
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    const controller = new AbortController();
    const response = await fetch(url, {
      method,
      headers: { ...as(screen), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(hasBody ? { body: '{}' } : {}),
      signal: controller.signal,
    });
    const type = response.headers.get('content-type');
    if (type?.startsWith('text/event-stream')) {
      controller.abort();
      return { status: response.status, code: null, type };
    }
    const text = await response.text();
    const code =
      response.status >= 400
        ? ((JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null)
        : null;
    return { status: response.status, code, type };
  }

  it('marks exactly the operations a locked screen may call: every other one is refused with KIOSK_LOCKED', async () => {
    // What the lock is about: operations a browser session may call at all (not the guests'
    // agent API, not what anyone may call unauthenticated).
    // Those that would end the session or the lock if wrongly let through go last, so one such
    // fault does not hide the answers of the rest.
    const ending = ['logout', 'clearKioskPin', 'unlockKiosk'];
    const sessionOperations = operations
      .filter(({ operation }) => operation.security?.some((scheme) => 'session' in scheme))
      .sort(
        (a, b) =>
          Number(ending.includes(a.operation.operationId)) -
          Number(ending.includes(b.operation.operationId)),
      );
    expect(sessionOperations.length).toBeGreaterThan(60);
    const wrong: string[] = [];
    for (const { method, path, operation } of sessionOperations) {
      const answer = await asLockedScreen(method, path);
      const isRefused = answer.status === 403 && answer.code === 'KIOSK_LOCKED';
      if (
        operation['x-kiosk'] === true &&
        (isRefused || answer.code === 'UNAUTHENTICATED' || answer.code === 'FORBIDDEN')
      )
        wrong.push(
          `${method} ${path} is marked x-kiosk but answers ${answer.status} ${answer.code}`,
        );
      if (operation['x-kiosk'] !== true && !isRefused)
        wrong.push(
          `${method} ${path} is not marked x-kiosk but answers ${answer.status} ${answer.code ?? answer.type}`,
        );
    }
    expect(wrong).toEqual([]);
    // The store, its runs' pages and leaving kiosk mode, as the README lists them.
    const marked = sessionOperations.filter(({ operation }) => operation['x-kiosk'] === true);
    expect(marked.map(({ operation }) => operation.operationId).sort()).toEqual(
      [
        'deployApp',
        'events',
        'getApp',
        'getKiosk',
        'getRun',
        'getSession',
        'listApps',
        'listClouds',
        'preflightApp',
        'runLog',
        'runParams',
        'unlockKiosk',
      ].sort(),
    );
    // Still locked after all that (nothing above unlocked the screen or ended its session).
    expect(await asLockedScreen('GET', '/api/v1/kiosk')).toMatchObject({ status: 200 });
    expect(
      (await local.inject({ method: 'GET', url: '/api/v1/kiosk', headers: as(screen) })).json(),
    ).toMatchObject({ locked: true });
  });

  it("says which scheme each operation takes: the guests' agent API only the agent token", () => {
    for (const { path, operation } of operations) {
      if (path.startsWith('/api/v1/agent/'))
        expect(operation.security, path).toEqual([{ agent: [] }]);
    }
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contract } from '../../appliance/src/api/contract.ts';
import { errorCodes, errorRegistry } from '../../appliance/src/errors.ts';
import { limits } from '../../appliance/src/domain/limits.ts';
import {
  as,
  makeAppliance,
  setupAdmin,
  tempDir,
  type TestAppliance,
} from '../fixtures/appliance.ts';

/**
 * GET `path` byte for byte on a new connection, as a hostile client may send it (no URL
 * normalising on the way): the status line and the body.
 */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      resolve({ status: Number(head.split(' ')[1]), body: text.slice(split + 4) });
    });
  });
}

let box: TestAppliance | undefined;
afterEach(async () => {
  await box?.close();
  box = undefined;
});

describe('bad input', () => {
  it('answers malformed JSON with INVALID_JSON and changes nothing', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": "admin",',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('INVALID_JSON');
    expect(box.services.store.data.users).toEqual([]);
  });

  it('names the field with a wrong type, and what is allowed', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'superuser' },
    });
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.fields).toEqual([
      { field: 'body.role', message: expect.stringContaining('admin') },
    ]);
    expect(error.message).toContain('body.role');
    expect(box.services.store.data.users).toHaveLength(1);
  });

  it('refuses unknown fields, naming them', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'admin', password: 'long enough password', isRoot: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details.fields).toEqual([
      { field: 'body.isRoot', message: 'is not a known field' },
    ]);
    expect(box.services.store.data.users).toEqual([]);
  });

  it('refuses a too short password with the rule in the message', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'admin', password: 'short' },
    });
    expect(response.json().error.message).toMatch(/body\.password must be at least 10 characters/);
  });

  it('refuses oversized bodies with BODY_TOO_LARGE and the limit', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      payload: { username: 'admin', password: 'x'.repeat(300 * 1024) },
    });
    expect(response.statusCode).toBe(413);
    // Setup and sign-in, which anyone may call, take small bodies only (M10).
    expect(response.json().error).toMatchObject({
      code: 'BODY_TOO_LARGE',
      details: { limitBytes: limits.unauthenticatedBodyBytes },
    });
  });

  it('refuses a body that is not JSON', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({
      method: 'POST',
      url: '/api/v1/setup',
      headers: { 'content-type': 'text/plain' },
      payload: 'username=admin',
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('validates path parameters', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const response = await box.app.inject({
      method: 'DELETE',
      url: '/api/v1/tokens/not%20an%20id',
      headers: as(admin),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details.fields[0].field).toBe('params.id');
  });

  it('answers unknown API routes with a JSON NOT_FOUND', async () => {
    box = await makeAppliance();
    const response = await box.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
  });
});

describe('serving the UI', () => {
  it('serves files of the renderer folder only, with an SPA fallback', async () => {
    const root = await tempDir();
    const rendererDir = join(root, 'renderer');
    await mkdir(join(rendererDir, 'assets'), { recursive: true });
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>UI</title>');
    await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(join(root, 'secret.txt'), 'do not serve');
    box = await makeAppliance({ rendererDir });

    expect((await box.app.inject('/assets/app.js')).headers['cache-control']).toContain(
      'immutable',
    );
    const deepLink = await box.app.inject('/users');
    expect(deepLink.statusCode).toBe(200);
    expect(deepLink.body).toContain('<title>UI</title>');
    // Sent as written over a real socket: inject() would resolve the dots before the server saw them.
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = box.app.server.address() as AddressInfo;
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
    ]) {
      const answer = await rawGet(port, path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.body), path).toEqual({
        error: {
          code: 'NOT_FOUND',
          message: `No route GET ${path}.`,
          details: { resource: 'route', method: 'GET', path },
        },
      });
    }
  });
});

describe('health and the API description', () => {
  it('answers /healthz without authentication, even before setup', async () => {
    box = await makeAppliance();
    const response = await box.app.inject('/healthz');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok' });
  });

  it('describes every contract route in OpenAPI, generated from the same schemas', async () => {
    box = await makeAppliance();
    const doc = (await box.app.inject('/api/v1/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const [name, route] of Object.entries(contract)) {
      const path = `/api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
      const operation = doc.paths[path]?.[route.method.toLowerCase()];
      expect(operation?.operationId, name).toBe(name);
      if ('body' in route) {
        // Every object a body may be (one, or each variant of a union) refuses unknown fields.
        const schema = operation.requestBody.content['application/json'].schema;
        const variants: { additionalProperties?: unknown }[] = schema.oneOf ??
          schema.anyOf ?? [schema];
        for (const variant of variants) expect(variant.additionalProperties, name).toBe(false);
      }
      if ('upload' in route)
        expect(operation.requestBody.content['application/octet-stream'].schema.format, name).toBe(
          'binary',
        );
    }
    expect(
      doc.paths['/api/v1/users'].post.requestBody.content['application/json'].schema.properties.role
        .enum,
    ).toEqual(['admin', 'operator', 'viewer']);
    expect(doc.paths['/api/v1/events'].get).toBeDefined();
  });

  it('documents every error code, with its status, in the registry and in OpenAPI', async () => {
    box = await makeAppliance();
    const doc = (await box.app.inject('/api/v1/openapi.json')).json();
    const documented = doc.components.schemas.ErrorCode['x-codes'];
    for (const code of errorCodes) {
      expect(errorRegistry[code].description.length, code).toBeGreaterThan(20);
      expect(documented[code], code).toEqual({
        status: errorRegistry[code].status,
        description: errorRegistry[code].description,
      });
    }
    expect(Object.keys(documented).sort()).toEqual([...errorCodes].sort());
  });
});

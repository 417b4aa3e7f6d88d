import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { as, login, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { listen } from '../fixtures/sse.ts';

let box: TestAppliance;
let base: string;

async function createUser(app: FastifyInstance, admin: Parameters<typeof as>[0], username: string, role: string) {
  const response = await app.inject({ method: 'POST', url: '/api/v1/users', headers: as(admin), payload: { username, password: 'long enough password', role } });
  return response.json<{ id: string }>();
}

beforeEach(async () => {
  box = await makeAppliance({ heartbeatSeconds: 0.1 });
  await box.app.listen({ host: '127.0.0.1', port: 0 });
  const address = box.app.server.address() as { port: number };
  base = `http://127.0.0.1:${address.port}`;
});
afterEach(async () => {
  await box.close();
});

describe('GET /api/v1/events', () => {
  it('requires authentication', async () => {
    await setupAdmin(box.app);
    const response = await fetch(`${base}/api/v1/events`);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it('streams events with ids and sends heartbeats', async () => {
    const admin = await setupAdmin(box.app);
    const stream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.frames.some((frame) => frame.startsWith(': heartbeat')));
    await createUser(box.app, admin, 'olga', 'operator');
    await stream.waitFor(() => stream.events.some((event) => event.type === 'user.created'));
    const created = stream.events.find((event) => event.type === 'user.created')!;
    expect(created.data).toMatchObject({ username: 'olga', role: 'operator' });
    expect(stream.frames.find((frame) => frame.includes('user.created'))).toMatch(new RegExp(`^id: ${created.id}\\n`));
    expect(created).not.toHaveProperty('access');
    await stream.close();
  });

  it('replays what a reconnecting client missed, from Last-Event-ID', async () => {
    const admin = await setupAdmin(box.app);
    const first = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await createUser(box.app, admin, 'ann', 'viewer');
    await first.waitFor(() => first.events.length === 1);
    const lastSeen = first.events[0]!.id;
    await first.close();

    // While disconnected, two more changes happen.
    await createUser(box.app, admin, 'bob', 'viewer');
    await createUser(box.app, admin, 'cyd', 'viewer');

    const second = listen(`${base}/api/v1/events`, { cookie: admin.cookie, 'last-event-id': String(lastSeen) });
    await second.waitFor(() => second.events.length >= 2);
    expect(second.events.map((event) => event.data.username)).toEqual(['bob', 'cyd']);
    await second.close();
  });

  it('tells a client that fell too far behind to reload', async () => {
    await box.close();
    box = await makeAppliance({ heartbeatSeconds: 0.1 });
    const admin = await setupAdmin(box.app);
    for (let i = 0; i < 1005; i += 1) box.services.events.append({ type: 'test.noise', subject: { kind: 'test', id: String(i) }, access: { owner: admin.userId, acl: [] }, data: {} });
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (box.app.server.address() as { port: number }).port;
    const stream = listen(`http://127.0.0.1:${port}/api/v1/events?lastEventId=1`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.frames.some((frame) => frame.startsWith('event: reset')));
    expect(stream.events).toEqual([]);
    await stream.close();
  });

  it('delivers only events the user may view', async () => {
    const admin = await setupAdmin(box.app);
    await createUser(box.app, admin, 'vera', 'viewer');
    const vera = await login(box.app, 'vera', 'long enough password');
    const stream = listen(`${base}/api/v1/events`, { cookie: vera.cookie });
    await stream.waitFor(() => stream.status === 200);

    await box.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: as(admin), payload: { name: 'admin secret' } });
    await createUser(box.app, admin, 'zed', 'operator');
    await box.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: as(vera), payload: { name: 'mine' } });
    await stream.waitFor(() => stream.events.some((event) => event.type === 'token.created'));
    expect(stream.events.map((event) => event.type)).toEqual(['token.created']);
    expect(stream.events[0]!.data).toEqual({ name: 'mine' });
    await stream.close();
  });

  it('ends the stream when the session ends', async () => {
    const admin = await setupAdmin(box.app);
    const stream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.status === 200);
    await box.app.inject({ method: 'DELETE', url: '/api/v1/session', headers: as(admin) });
    const frameCount = stream.frames.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(stream.frames.length).toBe(frameCount);
    await stream.close();
  });

  it('rejects a malformed Last-Event-ID with a clear error', async () => {
    const admin = await setupAdmin(box.app);
    const response = await fetch(`${base}/api/v1/events`, { headers: { cookie: admin.cookie, 'last-event-id': 'abc' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
  });
});

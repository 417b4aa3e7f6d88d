import type { FastifyInstance } from 'fastify';
import { readFile } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateTo, visibleToAll } from '../../appliance/src/domain/access.ts';
import { as, login, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { listen, testEvent } from '../fixtures/sse.ts';

let box: TestAppliance;
let base: string;

async function createUser(
  app: FastifyInstance,
  admin: Parameters<typeof as>[0],
  username: string,
  role: string,
) {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: as(admin),
    payload: { username, password: 'long enough password', role },
  });
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
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('streams events with ids and sends heartbeats', async () => {
    const admin = await setupAdmin(box.app);
    const stream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.frames.some((frame) => frame.startsWith('event: heartbeat')));
    await createUser(box.app, admin, 'olga', 'operator');
    await stream.waitFor(() => stream.events.some((event) => event.type === 'user.created'));
    const created = stream.events.find((event) => event.type === 'user.created')!;
    expect(created.data).toMatchObject({ username: 'olga', role: 'operator' });
    expect(stream.frames.find((frame) => frame.includes('user.created'))).toMatch(
      new RegExp(`^id: ${created.id}\\n`),
    );
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

    const second = listen(`${base}/api/v1/events`, {
      cookie: admin.cookie,
      'last-event-id': String(lastSeen),
    });
    await second.waitFor(() => second.events.length >= 2);
    expect(second.events.map((event) => event.data.username)).toEqual(['bob', 'cyd']);
    await second.close();
  });

  it('tells a client that fell too far behind to reload', async () => {
    await box.close();
    box = await makeAppliance({ heartbeatSeconds: 0.1 });
    const admin = await setupAdmin(box.app);
    for (let i = 0; i < 1005; i += 1)
      box.services.events.append(
        testEvent('test.noise', String(i), { owner: admin.userId, acl: [] }, {}),
      );
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (box.app.server.address() as { port: number }).port;
    const stream = listen(`http://127.0.0.1:${port}/api/v1/events?lastEventId=1`, {
      cookie: admin.cookie,
    });
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

    await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: as(admin),
      payload: { name: 'admin secret' },
    });
    await createUser(box.app, admin, 'zed', 'operator');
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: as(vera),
      payload: { name: 'mine' },
    });
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
    // The server ends the response; heartbeats (every 0.1 s here) would otherwise keep it going.
    await stream.waitFor(() => stream.isEndedByServer, 10_000);
    await stream.close();
  });

  it('rejects a malformed Last-Event-ID with a clear error', async () => {
    const admin = await setupAdmin(box.app);
    const response = await fetch(`${base}/api/v1/events`, {
      headers: { cookie: admin.cookie, 'last-event-id': 'abc' },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'VALIDATION_FAILED',
    );
  });

  describe('transient events (metrics ticks, progress)', () => {
    /** More than the replay window holds: appended, they would push every durable event out. */
    const burst = 1500;
    const tick = (n: number) =>
      box.services.events.broadcast(testEvent('test.tick', 'tick', visibleToAll('system'), { n }));
    const logFile = () => readFile(join(box.dataDir, 'events', 'events.jsonl'), 'utf8');

    it('reach the open streams with the same access rule, but leave the log file and the replay window unchanged', async () => {
      const admin = await setupAdmin(box.app);
      await createUser(box.app, admin, 'vera', 'viewer');
      const vera = await login(box.app, 'vera', 'long enough password');
      const adminStream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
      const veraStream = listen(`${base}/api/v1/events`, { cookie: vera.cookie });
      await adminStream.waitFor(() => adminStream.status === 200);
      await veraStream.waitFor(() => veraStream.status === 200);
      const fileBefore = await logFile();
      const windowBefore = box.services.events.since(0);
      const latestBefore = box.services.events.latestId;

      box.services.events.broadcast(
        testEvent('test.private', 'secret', privateTo(admin.userId), {}),
      );
      for (let n = 0; n < burst; n += 1) tick(n);

      const ticks = (stream: ReturnType<typeof listen>) =>
        stream.events.filter((event) => event.type === 'test.tick');
      await adminStream.waitFor(() => ticks(adminStream).length === burst);
      await veraStream.waitFor(() => ticks(veraStream).length === burst);
      expect(ticks(veraStream).map((event) => event.data.n)).toEqual([...Array(burst).keys()]);
      expect(adminStream.events.map((event) => event.type)).toContain('test.private');
      expect(veraStream.events.map((event) => event.type)).not.toContain('test.private');
      expect(ticks(adminStream).every((event) => event.id === undefined)).toBe(true);
      expect(
        adminStream.frames
          .filter((frame) => frame.includes('"test.tick"'))
          .every((frame) => frame.startsWith('data: ')),
      ).toBe(true);

      expect(await logFile()).toBe(fileBefore);
      expect(box.services.events.since(0)).toEqual(windowBefore);
      expect(box.services.events.latestId).toBe(latestBefore);
      await adminStream.close();
      await veraStream.close();
    });

    it('are skipped for a client that stops reading, never the durable events after them', async () => {
      const admin = await setupAdmin(box.app);
      // A client that opens the stream and does not read it (a stalled screen, a dead link).
      const { port } = new URL(base);
      const stalled = await new Promise<IncomingMessage>((resolve) =>
        httpGet(
          { host: '127.0.0.1', port, path: '/api/v1/events', headers: { cookie: admin.cookie } },
          (response) => {
            response.pause();
            resolve(response);
          },
        ),
      );
      // Far more live data than the stream may hold unsent (1 MiB), then one durable change.
      const line = 'x'.repeat(16 * 1024);
      for (let n = 0; n < 400; n += 1)
        box.services.events.broadcast(
          testEvent('test.tick', 'tick', visibleToAll('system'), { n, line }),
        );
      await createUser(box.app, admin, 'dora', 'viewer');

      let text = '';
      stalled.setEncoding('utf8');
      stalled.on('data', (chunk: string) => (text += chunk));
      stalled.resume();
      await expect.poll(() => text.includes('"user.created"'), { timeout: 10_000 }).toBe(true);
      const sent = text.split('\n\n').filter((frame) => frame.includes('"test.tick"')).length;
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(400); // the rest were skipped, not held in memory
      stalled.destroy();
    });

    it("L11: 2000 token create/revoke rounds by a viewer leave an administrator's earlier durable event replayable", async () => {
      const admin = await setupAdmin(box.app);
      await createUser(box.app, admin, 'vera', 'viewer');
      const vera = await login(box.app, 'vera', 'long enough password');
      const veraStream = listen(`${base}/api/v1/events`, { cookie: vera.cookie });
      await veraStream.waitFor(() => veraStream.status === 200);
      const resumeFrom = box.services.events.latestId;
      await createUser(box.app, admin, 'ann', 'viewer');

      // More rounds than the replay window holds events (1000), twice over.
      for (let round = 0; round < 2000; round += 1) {
        const created = await box.app.inject({
          method: 'POST',
          url: '/api/v1/tokens',
          headers: as(vera),
          payload: { name: `churn ${round}` },
        });
        expect(created.statusCode).toBe(201);
        const revoked = await box.app.inject({
          method: 'DELETE',
          url: `/api/v1/tokens/${created.json<{ id: string }>().id}`,
          headers: as(vera),
        });
        expect(revoked.statusCode).toBe(204);
      }
      // Vera's own screens still hear each change live, to reload her token list.
      await veraStream.waitFor(
        () => veraStream.events.filter((event) => event.type === 'token.revoked').length === 2000,
      );
      expect(veraStream.events.filter((event) => event.type === 'token.created')).toHaveLength(
        2000,
      );
      await veraStream.close();

      const resumed = listen(`${base}/api/v1/events`, {
        cookie: admin.cookie,
        'last-event-id': String(resumeFrom),
      });
      await resumed.waitFor(() => resumed.events.some((event) => event.type === 'user.created'));
      expect(resumed.frames.some((frame) => frame.startsWith('event: reset'))).toBe(false);
      expect(resumed.events.map((event) => [event.type, event.data.username])).toEqual([
        ['user.created', 'ann'],
      ]);
      await resumed.close();
    }, 120_000);

    it('never make a client resuming with Last-Event-ID miss a durable event', async () => {
      const admin = await setupAdmin(box.app);
      const first = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
      await first.waitFor(() => first.status === 200);
      await createUser(box.app, admin, 'ann', 'viewer');
      for (let n = 0; n < burst; n += 1) tick(n);
      await first.waitFor(
        () => first.events.filter((event) => event.type === 'test.tick').length === burst,
      );
      const resumeFrom = first.lastEventId;
      expect(resumeFrom).toBe(
        String(first.events.find((event) => event.type === 'user.created')!.id),
      );
      await first.close();

      // While disconnected: durable changes with a burst of transient events between them.
      await createUser(box.app, admin, 'bob', 'viewer');
      for (let n = 0; n < burst; n += 1) tick(n);
      await createUser(box.app, admin, 'cyd', 'viewer');

      const second = listen(`${base}/api/v1/events`, {
        cookie: admin.cookie,
        'last-event-id': resumeFrom!,
      });
      await second.waitFor(() => second.events.length >= 2);
      expect(second.frames.some((frame) => frame.startsWith('event: reset'))).toBe(false);
      expect(second.events.map((event) => [event.type, event.data.username])).toEqual([
        ['user.created', 'bob'],
        ['user.created', 'cyd'],
      ]);
      await second.close();
    });
  });
});

import { appendFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { limits } from '../../appliance/src/domain/limits.ts';
import { waitingConsoleReads, watchedConsoleLogs } from '../../appliance/src/host/console-log.ts';
import { as, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { useEdgeCleanups } from '../fixtures/edge-cleanups.ts';
import { GuestStandIn, importPlaceholderImage } from '../fixtures/guest-stand-in.ts';
import { listen as listenEvents } from '../fixtures/sse.ts';

/**
 * Bounded work per request (M10): event streams, console waits and parameter waits are capped, and
 * an unauthenticated request is answered before its body is read.
 */

let box: TestAppliance | undefined;
const { cleanups, listenOn } = useEdgeCleanups(() => box);

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
      .poll(() => box!.services.runs.agents.waitingReads(run.id, 'web.1:ready'), {
        timeout: 15_000,
      })
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

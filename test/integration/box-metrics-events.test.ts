import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { announceSamples, MetricsSampler } from '../../appliance/src/host/metrics.ts';
import { History } from '../../appliance/src/store/history.ts';
import {
  login,
  makeAppliance,
  setupAdmin,
  tempDir,
  as,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { listen } from '../fixtures/sse.ts';

/** A new host sample reaches open screens as `box.metrics` over the real event stream. */
describe('box.metrics events (real host samples, real SSE on a loopback port)', () => {
  let box: TestAppliance;
  let history: History;
  let sampler: MetricsSampler;
  let base: string;

  beforeEach(async () => {
    history = await History.open({ directory: join(await tempDir(), 'history') });
    box = await makeAppliance({ history, heartbeatSeconds: 0.1 });
    sampler = new MetricsSampler({
      dataDir: box.dataDir,
      history,
      onSample: announceSamples(box.services.events),
    });
    box.services.sampler = sampler;
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(box.app.server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    await sampler.stop();
    history.close();
    await box.services.clouds.close();
    await box.close();
  });

  it('announces each sample to every signed-in user, after it is readable', async () => {
    const admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'vera', password: 'long enough password', role: 'viewer' },
    });
    const viewer = await login(box.app, 'vera', 'long enough password');
    const stream = listen(`${base}/api/v1/events`, { cookie: viewer.cookie });
    await stream.waitFor(() => stream.frames.some((frame) => frame.startsWith('event: heartbeat')));

    await sampler.sampleOnce();
    await stream.waitFor(() => stream.events.some((event) => event.type === 'box.metrics'));
    const announced = stream.events.find((event) => event.type === 'box.metrics')!;
    expect(announced.subject).toEqual({ kind: 'box', id: 'box' });
    expect(announced.id).toBeUndefined();
    const latest = (
      await box.app.inject({ method: 'GET', url: '/api/v1/box/metrics', headers: as(viewer) })
    ).json<{ timeMs: number }>();
    expect(announced.data).toEqual({ timeMs: latest.timeMs });
    const index = (
      await box.app.inject({ method: 'GET', url: '/api/v1/history/metrics', headers: as(viewer) })
    ).json<{ metrics: string[] }>();
    expect(index.metrics).toContain('host.memory.used');

    await sampler.sampleOnce();
    await stream.waitFor(
      () => stream.events.filter((event) => event.type === 'box.metrics').length === 2,
    );
    await stream.close();
  });

  it('never appends a sample to the event log, watched or not', async () => {
    const admin = await setupAdmin(box.app);
    const stream = listen(`${base}/api/v1/events`, { cookie: admin.cookie });
    await stream.waitFor(() => stream.status === 200);
    const before = box.services.events.latestId;
    await sampler.sampleOnce();
    await sampler.sampleOnce();
    expect(sampler.latest).not.toBeNull();
    await stream.waitFor(
      () => stream.events.filter((event) => event.type === 'box.metrics').length === 2,
    );
    expect(box.services.events.latestId).toBe(before);
    await stream.close();
  });
});

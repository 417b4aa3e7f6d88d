import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { visibleToAll } from '../../appliance/src/domain/access.ts';
import { LogRing, teeDestination } from '../../appliance/src/host/log-ring.ts';
import { as, login, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';
import { listen, testEvent } from '../fixtures/sse.ts';

/**
 * The appliance's log lines go live to administrators as `box.log` (the Box page follows them):
 * a real pino logger writing through the same tee the server uses, real SSE on a loopback port.
 */
describe('box.log events', () => {
  let box: TestAppliance;
  let ring: LogRing;
  let base: string;

  beforeEach(async () => {
    ring = new LogRing(100);
    box = await makeAppliance({ logs: ring, heartbeatSeconds: 0.1 });
    await box.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(box.app.server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    await box.services.clouds.close();
    await box.close();
  });

  it('sends each new line to administrators as it is written, and to nobody else', async () => {
    const admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'otto', password: 'long enough password', role: 'operator' },
    });
    const operator = await login(box.app, 'otto', 'long enough password');
    const streams = [
      listen(`${base}/api/v1/events`, { cookie: admin.cookie }),
      listen(`${base}/api/v1/events`, { cookie: operator.cookie }),
    ];
    for (const stream of streams)
      await stream.waitFor(() =>
        stream.frames.some((frame) => frame.startsWith('event: heartbeat')),
      );
    const [adminStream, operatorStream] = streams as [
      (typeof streams)[number],
      (typeof streams)[number],
    ];

    const logger = pino({ base: null }, teeDestination({ write: () => true }, ring));
    logger.warn({ component: 'images', image: 'debian-12' }, 'disk nearly full');
    await adminStream.waitFor(() => adminStream.events.some((event) => event.type === 'box.log'));
    const [announced] = adminStream.events.filter((event) => event.type === 'box.log');
    expect(announced).toMatchObject({
      subject: { kind: 'box', id: 'box' },
      data: {
        line: {
          level: 'warn',
          message: 'disk nearly full',
          fields: { component: 'images', image: 'debian-12' },
        },
      },
    });
    expect(announced!.id).toBeUndefined(); // live only: never stored or replayed

    // An event both may see, sent after the line: once the operator has it, the line would have come first.
    box.services.events.append(testEvent('test.marker', 'marker', visibleToAll('system'), {}));
    await operatorStream.waitFor(() =>
      operatorStream.events.some((event) => event.type === 'test.marker'),
    );
    expect(operatorStream.events.filter((event) => event.type === 'box.log')).toEqual([]);
    // The line is in the log the page loads first, too.
    expect(
      (
        await box.app.inject({
          method: 'GET',
          url: '/api/v1/box/logs?level=warn',
          headers: as(admin),
        })
      ).json(),
    ).toMatchObject({ lines: [{ message: 'disk nearly full' }] });
    for (const stream of streams) await stream.close();
  });
});

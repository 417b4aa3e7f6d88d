import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { screenId, useSignInBox } from '../fixtures/sign-in-box.ts';
import { listen } from '../fixtures/sse.ts';

/**
 * The kiosk lock holds on every route, outside the route pipeline too (M2). Across trust boundaries
 * (issue 12), on the box of test/fixtures/sign-in-box.ts.
 */
describe('sign-in, sessions and kiosk mode', () => {
  let box: TestAppliance;
  let local: FastifyInstance;
  let admin: Client;
  const { call, installApps, lockedScreen } = useSignInBox(
    (parts) => ({ box, local, admin } = parts),
  );

  describe('M2: the kiosk lock holds outside the route pipeline too', () => {
    it("M2: a locked screen's event stream carries only the app store's kinds and its own runs", async () => {
      await installApps();
      const screen = await lockedScreen();
      await local.listen({ host: '127.0.0.1', port: 0 });
      const { port } = local.server.address() as { port: number };
      const stream = listen(`http://127.0.0.1:${port}/api/v1/events`, { cookie: screen.cookie });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await call(box.app, admin, 'POST', '/users', {
          username: 'zed',
          password: 'zed-password-12',
          role: 'viewer',
        });
        const theirs = (await call(box.app, admin, 'POST', '/apps/hello-web/deploy', {})).json<{
          id: string;
        }>();
        const mine = (await call(local, screen, 'POST', '/apps/hello-web/deploy', {})).json<{
          id: string;
        }>();
        await call(box.app, admin, 'PUT', '/kiosk/pin', { pin: '1357' });
        await stream.waitFor(() => stream.events.some((event) => event.type === 'kiosk.pin-set'));
        await stream.waitFor(() =>
          stream.events.some(
            (event) => event.subject.kind === 'run' && event.subject.id === mine.id,
          ),
        );
        const kinds = new Set(stream.events.map((event) => event.subject.kind));
        expect(
          [...kinds].every((kind) => ['app', 'kiosk', 'cloud', 'capacity', 'run'].includes(kind)),
          [...kinds].join(),
        ).toBe(true);
        expect(
          stream.events
            .filter((event) => event.subject.kind === 'run')
            .every((event) => event.subject.id === mine.id),
        ).toBe(true);
        expect(stream.events.some((event) => event.subject.id === theirs.id)).toBe(false);
      } finally {
        await stream.close();
      }
    });

    it('M2: a locked screen cannot export an app', async () => {
      await installApps();
      const screen = await lockedScreen();
      const exported = await call(local, screen, 'GET', '/apps/hello-web/export?images=true');
      expect(exported.statusCode).toBe(403);
      expect(exported.json().error.code).toBe('KIOSK_LOCKED');
      // Its store icons still load.
      const icon = (await call(local, screen, 'GET', '/apps'))
        .json<{ iconUrl: string | null }[]>()
        .find((app) => app.iconUrl)?.iconUrl;
      if (icon)
        expect(
          (await local.inject({ method: 'GET', url: icon, headers: as(screen) })).statusCode,
        ).toBe(200);
    });

    it('M2: a locked screen reads only the runs started from it', async () => {
      await installApps();
      const theirs = (await call(box.app, admin, 'POST', '/apps/hello-web/deploy', {})).json<{
        id: string;
      }>();
      const screen = await lockedScreen();
      const mine = (await call(local, screen, 'POST', '/apps/hello-web/deploy', {})).json<{
        id: string;
      }>();
      for (const suffix of ['', '/params', '/log']) {
        expect(
          (await call(local, screen, 'GET', `/runs/${mine.id}${suffix}`)).statusCode,
          suffix,
        ).toBe(200);
        const other = await call(local, screen, 'GET', `/runs/${theirs.id}${suffix}`);
        expect(other.statusCode, suffix).toBe(404);
        expect(other.json().error.code).toBe('NOT_FOUND');
      }
      // Unlocked, the same administrator reads every run again.
      await call(local, screen, 'POST', '/kiosk/unlock', { pin: '2468' });
      expect((await call(local, screen, 'GET', `/runs/${theirs.id}`)).statusCode).toBe(200);
    });

    it('M2-upgrade: a run started from the locked screen and upgraded by an administrator gives a newer run the screen still reads', async () => {
      await installApps();
      await box.services.runs.start();
      try {
        const guests = new GuestStandIn(box.app, box.services);
        /** Plays the run's guest through its recipes, so the run is Ready. */
        const ready = async (runId: string): Promise<void> => {
          await box.services.runs.idle();
          const run = box.services.store.data.runs.find((candidate) => candidate.id === runId)!;
          for (const instance of run.instances) {
            const agent = await guests.agent(runId, instance.name);
            await agent.complete('Executing');
            await agent.complete('SendingReports');
          }
          await box.services.runs.idle();
        };
        const screen = await lockedScreen();
        const mine = (await call(local, screen, 'POST', '/apps/hello-web/deploy', {})).json<{
          id: string;
        }>();
        await ready(mine.id);
        expect((await call(local, screen, 'GET', `/runs/${mine.id}`)).json()).toMatchObject({
          state: 'Ready',
          screenId,
        });

        const upgraded = await call(box.app, admin, 'POST', `/runs/${mine.id}/upgrade`, {
          module: '/apps/hello-web/web',
        });
        expect(upgraded.statusCode).toBe(202);
        const newer = upgraded.json<{ upgrade: { to: string } }>().upgrade.to;
        const followed = await call(local, screen, 'GET', `/runs/${newer}`);
        expect(followed.statusCode).toBe(200);
        expect(followed.json()).toMatchObject({ id: newer, screenId });
        // Once the newer run is Ready it replaces the old one, and the screen follows it still.
        await ready(newer);
        expect((await call(local, screen, 'GET', `/runs/${newer}`)).json()).toMatchObject({
          id: newer,
          state: 'Ready',
          screenId,
        });
        expect((await call(local, screen, 'GET', `/runs/${mine.id}`)).json()).toMatchObject({
          state: 'Done',
          upgrade: { to: newer, state: 'switched' },
        });
      } finally {
        await box.services.runs.stop();
      }
    });

    it('M2: a locked screen lists clouds without their config, even when an administrator signed it in', async () => {
      const screen = await lockedScreen();
      const clouds = (await call(local, screen, 'GET', '/clouds')).json<{ config: unknown }[]>();
      expect(clouds.length).toBeGreaterThan(0);
      expect(clouds.every((cloud) => cloud.config === null)).toBe(true);
      const asAdmin = (await call(box.app, admin, 'GET', '/clouds')).json<{ config: unknown }[]>();
      expect(asAdmin.some((cloud) => cloud.config !== null)).toBe(true);
    });
  });
});

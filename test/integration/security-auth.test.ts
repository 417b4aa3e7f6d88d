import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../appliance/src/api/auth/login-throttle.ts';
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
import { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { listen } from '../fixtures/sse.ts';

const builtIn = fileURLToPath(new URL('../../appliance/apps', import.meta.url));
/** The tiny guest (built in build/out), which the built-in "Hello web" app runs on. */
const builtInImages = fileURLToPath(new URL('../../build/out', import.meta.url));
const password = 'correct horse battery';
const screenId = 'screen-0123456789abcdef';
const otherScreenId = 'screen-fedcba9876543210';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Sign-in, sessions and kiosk mode across trust boundaries (issue 12): every password and PIN
 * guess counted before it is checked, hashing bounded box-wide, kiosk sessions only from the box's
 * own screen, and the kiosk lock held on every route.
 */
describe('sign-in, sessions and kiosk mode', () => {
  let box: TestAppliance;
  /** The same appliance on its local listener (loopback HTTP), where the box's screen signs in. */
  let local: FastifyInstance;
  let admin: Client;

  beforeEach(async () => {
    box = await makeAppliance({
      appsDir: join(await tempDir('bivouac-apps-'), 'apps'),
      imageDir: await tempDir('bivouac-images-'),
      // The default allowance (5 guesses), with a first wait long enough that no test outlives it.
      throttle: new LoginThrottle({ baseDelayMs: 60_000 }),
    });
    await box.services.apps.recover();
    local = await build(box.services, { listener: 'local' });
    admin = await setupAdmin(box.app, 'admin', password);
  });
  afterEach(async () => {
    await local.close();
    await box.services.clouds.close();
    await box.close();
  });

  const call = (
    app: FastifyInstance,
    client: Client | null,
    method: Method,
    url: string,
    payload?: object,
    remoteAddress?: string,
  ) =>
    app.inject({
      method,
      url: `/api/v1${url}`,
      ...(client ? { headers: as(client) } : {}),
      ...(payload ? { payload } : {}),
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const signIn = (username: string, secret: string, remoteAddress: string) =>
    call(box.app, null, 'POST', '/session', { username, password: secret }, remoteAddress);
  const codeOf = (response: LightMyRequestResponse): string =>
    response.statusCode < 400
      ? String(response.statusCode)
      : response.json<{ error: { code: string } }>().error.code;
  const tally = (responses: LightMyRequestResponse[]) => {
    const counts: Record<string, number> = {};
    for (const response of responses)
      counts[codeOf(response)] = (counts[codeOf(response)] ?? 0) + 1;
    return counts;
  };

  /**
   * Sends waves of parallel guesses as an attacker would, each once the last is answered (guesses
   * refused as busy were not counted, so they are simply sent again), until a wave is refused
   * entirely as throttled; at most 10 waves. Every answer, in order.
   */
  async function untilThrottled(
    wave: () => Promise<LightMyRequestResponse[]>,
    throttledCode = 'LOGIN_THROTTLED',
  ): Promise<LightMyRequestResponse[]> {
    const answers: LightMyRequestResponse[] = [];
    for (let round = 0; round < 10; round += 1) {
      const sent = await wave();
      answers.push(...sent);
      if (sent.every((response) => codeOf(response) === throttledCode)) break;
    }
    return answers;
  }

  /** The built-in apps, and the tiny guest image "Hello web" needs. */
  async function installApps(): Promise<void> {
    await box.services.apps.installBuiltIn(builtIn);
    expect((await box.services.images.installBuiltIn(builtInImages)).failed).toEqual([]);
  }

  /** The box's screen: signed in on the local listener with its screen id, locked to the store. */
  async function lockedScreen(
    username = 'admin',
    secret = password,
    id = screenId,
  ): Promise<Client> {
    if (
      (await call(box.app, admin, 'GET', '/kiosk')).json<{ pinSet: boolean }>().pinSet === false
    ) {
      expect((await call(box.app, admin, 'PUT', '/kiosk/pin', { pin: '2468' })).statusCode).toBe(
        200,
      );
    }
    const screen = await login(local, username, secret, id);
    expect((await call(local, screen, 'POST', '/kiosk/lock')).json()).toMatchObject({
      locked: true,
      isScreen: true,
    });
    return screen;
  }

  describe('H5: guesses are counted before they are checked, and hashing is bounded', () => {
    it('H5: a parallel burst of 300 wrong passwords from one address checks at most 5', async () => {
      const burst = () =>
        Promise.all(
          Array.from({ length: 300 }, (_, i) => signIn('admin', `wrong guess ${i}`, '203.0.113.7')),
        );
      const answers = await untilThrottled(burst);
      const counts = tally(answers);
      // Only a checked password can be answered INVALID_CREDENTIALS; the rest were refused unchecked.
      expect(counts.INVALID_CREDENTIALS ?? 0).toBeLessThanOrEqual(5);
      expect((counts.LOGIN_THROTTLED ?? 0) + (counts.AUTH_BUSY ?? 0)).toBeGreaterThanOrEqual(
        answers.length - 5,
      );
      expect(box.services.passwordChecks.checked).toBeLessThanOrEqual(5);
      // The right password from that address waits too: the throttle holds after the bursts.
      expect(codeOf(await signIn('admin', password, '203.0.113.7'))).toBe('LOGIN_THROTTLED');
    }, 120_000); // without the bound, every guess is hashed: 300 take half a minute on a small box

    it('H5: the right password from another address still signs in while an attacker hammers from one', async () => {
      const hammer = () =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) => signIn('admin', `guess ${i}`, '203.0.113.7')),
        );
      await untilThrottled(hammer);
      const [, answer] = await Promise.all([hammer(), signIn('admin', password, '198.51.100.2')]);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({ user: { username: 'admin' } });
    });

    it('H5: hashes in flight are capped box-wide; a guess beyond the cap is answered at once', async () => {
      const spread = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          signIn(`user${i}`, 'some wrong password', `192.0.2.${i + 1}`),
        ),
      );
      const counts = tally(spread);
      expect(counts.AUTH_BUSY ?? 0).toBeGreaterThan(0);
      const busy = spread.find((response) => codeOf(response) === 'AUTH_BUSY')!;
      expect(busy.statusCode).toBe(429);
      expect(busy.json().error.details).toEqual({ retryAfterSeconds: 1 });
      expect(box.services.passwordChecks.peakInFlight).toBeLessThanOrEqual(4);
      // Once the burst is over, hashing is free again.
      expect(codeOf(await signIn('admin', password, '198.51.100.2'))).toBe('200');
    });

    it('H5: a burst of PIN guesses from the locked screen checks at most 5', async () => {
      const screen = await lockedScreen();
      const burst = () =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            call(local, screen, 'POST', '/kiosk/unlock', { pin: String(1000 + i) }),
          ),
        );
      const counts = tally(await untilThrottled(burst, 'PIN_THROTTLED'));
      expect(counts.WRONG_PIN ?? 0).toBeLessThanOrEqual(5);
      expect(counts.PIN_THROTTLED ?? 0).toBeGreaterThan(0);
      expect(counts['200'] ?? 0).toBe(0);
    });
  });

  describe('M3: only the box screen’s kiosk session can lock or try the PIN', () => {
    it('M3: a session elsewhere cannot lock or try the PIN, nor open a kiosk session', async () => {
      await call(box.app, admin, 'PUT', '/kiosk/pin', { pin: '2468' });
      await call(box.app, admin, 'POST', '/users', {
        username: 'vic',
        password: 'viewer-password-1',
        role: 'viewer',
      });
      const vic = await login(box.app, 'vic', 'viewer-password-1');
      for (const url of ['/kiosk/lock', '/kiosk/unlock']) {
        const refused = await call(
          box.app,
          vic,
          'POST',
          url,
          url.endsWith('unlock') ? { pin: '2468' } : undefined,
        );
        expect(refused.statusCode, url).toBe(403);
        expect(refused.json().error.code, url).toBe('KIOSK_SCREEN_ONLY');
      }
      // A session on the local listener without the kiosk flag is no kiosk session either.
      const plain = await login(local, 'vic', 'viewer-password-1');
      expect(codeOf(await call(local, plain, 'POST', '/kiosk/lock'))).toBe('KIOSK_SCREEN_ONLY');
      // The kiosk flag is refused off the local listener.
      const remote = await call(box.app, null, 'POST', '/session', {
        username: 'admin',
        password,
        screenId,
      });
      expect(remote.statusCode).toBe(403);
      expect(remote.json().error).toMatchObject({
        code: 'KIOSK_SCREEN_ONLY',
        details: { field: 'screenId' },
      });
      // A kiosk session's cookie counts only on the local listener it was opened on.
      const screen = await login(local, 'admin', password, screenId);
      expect((await call(local, screen, 'GET', '/kiosk')).json()).toEqual({
        pinSet: true,
        locked: false,
        isScreen: true,
      });
      expect((await call(box.app, screen, 'GET', '/kiosk')).statusCode).toBe(401);
    });

    it('M3: wrong PINs at another screen do not keep this screen locked', async () => {
      await call(box.app, admin, 'POST', '/users', {
        username: 'olga',
        password: 'operator password',
        role: 'operator',
      });
      const mine = await lockedScreen();
      const other = await lockedScreen('olga', 'operator password', otherScreenId);
      for (let attempt = 0; attempt < 8; attempt += 1)
        await call(local, other, 'POST', '/kiosk/unlock', { pin: '0000' });
      expect(codeOf(await call(local, other, 'POST', '/kiosk/unlock', { pin: '2468' }))).toBe(
        'PIN_THROTTLED',
      );
      const unlocked = await call(local, mine, 'POST', '/kiosk/unlock', { pin: '2468' });
      expect(unlocked.statusCode).toBe(200);
      expect(unlocked.json()).toEqual({ pinSet: true, locked: false, isScreen: true });
    });

    it('M3: runs started from a kiosk session carry its screen id', async () => {
      await installApps();
      const screen = await lockedScreen();
      const deployed = await call(local, screen, 'POST', '/apps/hello-web/deploy', {});
      expect(deployed.statusCode, deployed.body).toBe(201);
      const run = deployed.json<{ id: string; screenId?: string }>();
      expect(run.screenId).toBe(screenId);
      expect(
        box.services.store.data.runs.find((candidate) => candidate.id === run.id)?.screenId,
      ).toBe(screenId);
      const elsewhere = await call(box.app, admin, 'POST', '/apps/hello-web/deploy', {});
      expect(elsewhere.json<{ screenId?: string }>().screenId).toBeUndefined();
    });
  });

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

  describe('L1: a new password ends every session and token, and its check is throttled', () => {
    it('L1: changing a password ends API tokens and sessions', async () => {
      const { token } = (await call(box.app, admin, 'POST', '/tokens', { name: 'script' })).json<{
        token: string;
      }>();
      const other = await login(box.app, 'admin', password);
      const changed = await call(box.app, admin, 'PATCH', `/users/${admin.userId}`, {
        password: 'a brand new password',
        currentPassword: password,
      });
      expect(changed.statusCode).toBe(200);
      const viaToken = await box.app.inject({
        method: 'GET',
        url: '/api/v1/session',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(viaToken.statusCode).toBe(401);
      expect((await call(box.app, other, 'GET', '/session')).statusCode).toBe(401);
      expect(box.services.store.data.apiTokens).toHaveLength(0);
    });

    it('L1: wrong current passwords are throttled like sign-ins', async () => {
      const stolen = await login(box.app, 'admin', password);
      const guesses = () =>
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            call(box.app, stolen, 'PATCH', `/users/${admin.userId}`, {
              password: 'attacker password 1',
              currentPassword: `guess ${i}`,
            }),
          ),
        );
      const answers = await untilThrottled(guesses);
      const counts = tally(answers);
      expect(counts.WRONG_PASSWORD ?? 0).toBeLessThanOrEqual(5);
      expect((counts.LOGIN_THROTTLED ?? 0) + (counts.AUTH_BUSY ?? 0)).toBeGreaterThanOrEqual(
        answers.length - 5,
      );
      // They are the sign-in's attempts too: no second budget of guesses through the other door.
      expect(codeOf(await signIn('admin', password, '127.0.0.1'))).toBe('LOGIN_THROTTLED');
    });
  });
});

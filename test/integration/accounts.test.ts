import type { FastifyInstance } from 'fastify';
import { limits } from '../../appliance/src/domain/limits.ts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';

let box: TestAppliance | undefined;

afterEach(async () => {
  await box?.close();
  box = undefined;
});

const olgaPassword = 'operator password';

/** An operator, "olga", signed in with a cookie session and holding an API token. */
async function operatorWithSessionAndToken(
  app: FastifyInstance,
  admin: Client,
): Promise<{ id: string; session: Client; token: string }> {
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/users',
    headers: as(admin),
    payload: { username: 'olga', password: olgaPassword, role: 'operator' },
  });
  expect(created.statusCode).toBe(201);
  const session = await login(app, 'olga', olgaPassword);
  const token = await app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    headers: as(session),
    payload: { name: 'olga script' },
  });
  expect(token.statusCode).toBe(201);
  return {
    id: created.json<{ id: string }>().id,
    session,
    token: token.json<{ token: string }>().token,
  };
}

/** The status and error code of `GET /session` with a cookie or a bearer token. */
async function whoAmI(
  app: FastifyInstance,
  credentials: { cookie?: string; token?: string },
): Promise<{ status: number; code: string | undefined }> {
  const headers: Record<string, string> = credentials.cookie
    ? { cookie: credentials.cookie }
    : { authorization: `Bearer ${credentials.token}` };
  const response = await app.inject({ method: 'GET', url: '/api/v1/session', headers });
  return {
    status: response.statusCode,
    code:
      response.statusCode === 200
        ? undefined
        : response.json<{ error: { code: string } }>().error.code,
  };
}

async function signIn(
  app: FastifyInstance,
  password = olgaPassword,
): Promise<{ status: number; code: string | undefined }> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { username: 'olga', password },
  });
  return {
    status: response.statusCode,
    code:
      response.statusCode === 200
        ? undefined
        : response.json<{ error: { code: string } }>().error.code,
  };
}

const accepted = { status: 200, code: undefined };
const refused = { status: 401, code: 'UNAUTHENTICATED' };

describe('disabling and deleting a user', () => {
  it("ends a disabled user's sessions and tokens at once, refuses their sign-in, and lets them back in once enabled", async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const olga = await operatorWithSessionAndToken(box.app, admin);
    expect(await whoAmI(box.app, olga.session)).toEqual(accepted);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(accepted);

    const disabled = await box.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${olga.id}`,
      headers: as(admin),
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ id: olga.id, disabled: true });
    // The very next request of either kind is refused: nothing waits for an expiry.
    expect(await whoAmI(box.app, olga.session)).toEqual(refused);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(refused);
    // Signing in with the right password is refused exactly as a wrong password is.
    expect(await signIn(box.app)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(await signIn(box.app, 'not her password')).toEqual({
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
    // Nothing of hers is left to come back with her.
    expect(
      box.services.store.data.sessions.filter((session) => session.userId === olga.id),
    ).toEqual([]);
    expect(box.services.store.data.apiTokens.filter((token) => token.userId === olga.id)).toEqual(
      [],
    );

    const enabled = await box.app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${olga.id}`,
      headers: as(admin),
      payload: { disabled: false },
    });
    expect(enabled.json()).toMatchObject({ id: olga.id, disabled: false });
    expect(await signIn(box.app)).toEqual(accepted);
    // Her old session and token stay ended: enabling her gives back the account, not old keys.
    expect(await whoAmI(box.app, olga.session)).toEqual(refused);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(refused);
    // The admin's own session was never touched.
    expect(await whoAmI(box.app, admin)).toEqual(accepted);
  });

  it("revokes a deleted user's sessions and tokens, and refuses their sign-in", async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const olga = await operatorWithSessionAndToken(box.app, admin);

    const deleted = await box.app.inject({
      method: 'DELETE',
      url: `/api/v1/users/${olga.id}`,
      headers: as(admin),
    });
    expect(deleted.statusCode).toBe(204);
    expect(await whoAmI(box.app, olga.session)).toEqual(refused);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(refused);
    expect(await signIn(box.app)).toEqual({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(
      box.services.store.data.sessions.filter((session) => session.userId === olga.id),
    ).toEqual([]);
    expect(box.services.store.data.apiTokens.filter((token) => token.userId === olga.id)).toEqual(
      [],
    );
    // A new user of the same name is someone else: the old keys do not open their account.
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'a new olga password', role: 'operator' },
    });
    expect(await whoAmI(box.app, olga.session)).toEqual(refused);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(refused);
  });
});

describe('session expiry', () => {
  it('refuses a session once it is sessionHours old, and keeps API tokens, which do not expire', async () => {
    let now = new Date('2026-03-01T08:00:00.000Z');
    box = await makeAppliance({ sessionHours: 2, now: () => now });
    const admin = await setupAdmin(box.app);
    const olga = await operatorWithSessionAndToken(box.app, admin);
    const [session] = box.services.store.data.sessions.filter((each) => each.userId === olga.id);
    expect(session?.expiresAt).toBe('2026-03-01T10:00:00.000Z');

    now = new Date('2026-03-01T09:59:59.000Z');
    expect(await whoAmI(box.app, olga.session)).toEqual(accepted);
    now = new Date('2026-03-01T10:00:00.000Z');
    expect(await whoAmI(box.app, olga.session)).toEqual(refused);
    // Changes are refused too, not only reads.
    const change = await box.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: as(olga.session),
      payload: { name: 'late' },
    });
    expect(change.statusCode).toBe(401);
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(accepted);

    // Signing in again opens a fresh session for another sessionHours, and the expired one is dropped.
    const again = await login(box.app, 'olga', olgaPassword);
    expect(await whoAmI(box.app, again)).toEqual(accepted);
    expect(
      box.services.store.data.sessions
        .filter((each) => each.userId === olga.id)
        .map((each) => each.expiresAt),
    ).toEqual(['2026-03-01T12:00:00.000Z']);
  });
});

describe('what one user holds', () => {
  it('ends the oldest session at a sign-in past sessionsPerUser, and refuses an API token past apiTokensPerUser', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const olga = await operatorWithSessionAndToken(box.app, admin);
    const sessions: Client[] = [olga.session];
    while (sessions.length < limits.sessionsPerUser + 1)
      sessions.push(await login(box.app, 'olga', olgaPassword));
    const theirs = box.services.store.data.sessions.filter((each) => each.userId === olga.id);
    expect(theirs).toHaveLength(limits.sessionsPerUser);
    // The first sign-in's session ended; the second and the newest still answer.
    expect(await whoAmI(box.app, sessions[0]!)).toEqual(refused);
    expect(await whoAmI(box.app, sessions[1]!)).toEqual(accepted);
    expect(await whoAmI(box.app, sessions.at(-1)!)).toEqual(accepted);
    // Another user's sessions are not theirs to end.
    expect(await whoAmI(box.app, admin)).toEqual(accepted);

    const make = (name: string) =>
      box!.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: as(sessions.at(-1)!),
        payload: { name },
      });
    // One token is held already (operatorWithSessionAndToken's).
    for (let i = 1; i < limits.apiTokensPerUser; i += 1)
      expect((await make(`t${i}`)).statusCode).toBe(201);
    const refusedToken = await make('one too many');
    expect(refusedToken.statusCode).toBe(409);
    expect(refusedToken.json()).toMatchObject({
      error: {
        code: 'TOKENS_FULL',
        details: { held: limits.apiTokensPerUser, allowed: limits.apiTokensPerUser },
      },
    });
    expect(
      box.services.store.data.apiTokens.filter((each) => each.userId === olga.id),
    ).toHaveLength(limits.apiTokensPerUser);
    // The first token still works: nothing was ended to make room.
    expect(await whoAmI(box.app, { token: olga.token })).toEqual(accepted);
  }, 60_000);
});

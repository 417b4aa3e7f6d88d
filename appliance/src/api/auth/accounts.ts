import { privateTo, type Access, type Role, type Subject } from '../../domain/access.ts';
import { domainEvent } from '../../domain/events.ts';
import { limits } from '../../domain/limits.ts';
import { hasEnabledAdmin, toPublicUser, type PublicUser, type User } from '../../domain/users.ts';
import { BivouacError } from '../../errors.ts';
import type { ApiToken, MainDocument, Session } from '../../store/document.ts';
import type { EventLog } from '../../store/event-log.ts';
import type { Store } from '../../store/store.ts';
import { newId } from '../../ids.ts';
import { decoyHash, hashPassword, hashSecret, newSecret, verifyPassword } from '../../secrets.ts';
import { PasswordChecks } from './password-checks.ts';

export interface AccountsOptions {
  store: Store<MainDocument>;
  events: EventLog;
  sessionHours: number;
  /** Throttling and the box-wide cap on hashing, shared with the kiosk PIN. */
  checks?: PasswordChecks;
  now?: () => Date;
}

export interface IssuedSession {
  cookieValue: string;
  session: Session;
  user: PublicUser;
}

/** Who made a request, and how. */
export interface Principal {
  user: User;
  subject: Subject;
  via: 'session' | 'token';
  session?: Session;
}

/** Where a sign-in comes from: the client's address, and the box's own screen if it is one. */
export interface SignInOrigin {
  clientAddress: string;
  /** The screen id of the box's own screen opening a kiosk session (local listener only). */
  screenId?: string | undefined;
}

/**
 * The throttle keys of a password guess. Per user name *and* address, so guesses from elsewhere
 * never lock the real user out of their own address; and per address with a larger allowance,
 * so one address cannot spray many names. Never per user name alone: that would let anyone lock
 * the administrator out from anywhere.
 */
function passwordKeys(username: string, clientAddress: string) {
  return [
    `password:${username}@${clientAddress}`,
    { id: `password:address:${clientAddress}`, freeFailures: 19 },
  ];
}

function signInThrottled(retryAfterSeconds: number): BivouacError {
  return new BivouacError(
    'LOGIN_THROTTLED',
    `Too many failed sign-ins; try again in ${retryAfterSeconds} s.`,
    { retryAfterSeconds },
  );
}

/** Events about a user go to admins and to that user. */
function userAccess(user: User): Access {
  return privateTo(user.id);
}

/**
 * Local accounts, browser sessions and API tokens: every change durable before it is
 * acknowledged, and announced on the event stream.
 */
export class Accounts {
  private readonly store: Store<MainDocument>;
  private readonly events: EventLog;
  private readonly sessionMs: number;
  private readonly checks: PasswordChecks;
  private readonly now: () => Date;

  constructor(options: AccountsOptions) {
    this.store = options.store;
    this.events = options.events;
    this.sessionMs = options.sessionHours * 3600_000;
    this.checks = options.checks ?? new PasswordChecks();
    this.now = options.now ?? (() => new Date());
  }

  get needsAdmin(): boolean {
    return !this.store.data.users.some((user) => user.role === 'admin');
  }

  list(): PublicUser[] {
    return this.store.data.users.map(toPublicUser);
  }

  /** First-run setup: the first administrator, signed in. Concurrent calls make exactly one. */
  async createAdmin(username: string, password: string): Promise<IssuedSession> {
    if (!this.needsAdmin) throw alreadySetUp();
    const user = await this.createUser(username, password, 'admin', null, { onlyIfNoAdmin: true });
    return this.openSession(user.id);
  }

  /**
   * `onlyIfNoAdmin` makes this the first administrator or nothing: the check runs inside the same
   * store update that saves the user, after the slow hash, so two setups at once cannot both pass.
   */
  async createUser(
    username: string,
    password: string,
    role: Role,
    actor: string | null,
    options: { onlyIfNoAdmin?: boolean } = {},
  ): Promise<PublicUser> {
    const passwordHash = await this.checks.hash(() => hashPassword(password));
    const user = await this.store.update((document) => {
      if (options.onlyIfNoAdmin && document.users.some((existing) => existing.role === 'admin'))
        throw alreadySetUp();
      if (document.users.some((existing) => existing.username === username)) {
        throw new BivouacError(
          'USERNAME_TAKEN',
          `The user name "${username}" is taken; choose another.`,
          { field: 'username' },
        );
      }
      const time = this.now().toISOString();
      const created: User = {
        id: newId(),
        username,
        role,
        passwordHash,
        disabled: false,
        createdAt: time,
        updatedAt: time,
      };
      document.users.push(created);
      return created;
    });
    this.announce('user.created', user, actor);
    return toPublicUser(user);
  }

  async updateUser(
    actor: Subject,
    id: string,
    change: {
      role?: Role | undefined;
      disabled?: boolean | undefined;
      password?: string | undefined;
      currentPassword?: string | undefined;
    },
    clientAddress: string,
  ): Promise<PublicUser> {
    const target = this.find(id);
    const isSelf = actor.userId === id;
    const isAdmin = actor.role === 'admin';
    if (!isAdmin && (!isSelf || change.role !== undefined || change.disabled !== undefined)) {
      throw new BivouacError(
        'FORBIDDEN',
        "Only an administrator may change roles, disable users or set other users' passwords.",
      );
    }
    if (change.password !== undefined && isSelf) {
      // Throttled like sign-in, under the same keys: a stolen session cannot guess the password faster.
      const { currentPassword } = change;
      const isRight =
        currentPassword !== undefined &&
        (await this.checks.check(
          passwordKeys(target.username, clientAddress),
          signInThrottled,
          () => verifyPassword(currentPassword, target.passwordHash),
        ));
      if (!isRight) {
        throw new BivouacError(
          'WRONG_PASSWORD',
          'To change your own password, give your current password in currentPassword.',
          {
            field: 'currentPassword',
          },
        );
      }
    }
    const newPassword = change.password;
    const passwordHash =
      newPassword === undefined
        ? undefined
        : await this.checks.hash(() => hashPassword(newPassword));
    const updated = await this.store.update((document) => {
      const user = document.users.find((candidate) => candidate.id === id);
      if (!user) throw notFound(id);
      const next = {
        ...user,
        role: change.role ?? user.role,
        disabled: change.disabled ?? user.disabled,
      };
      if (
        !hasEnabledAdmin(
          document.users.map((candidate) => (candidate.id === id ? next : candidate)),
        )
      ) {
        throw new BivouacError(
          'LAST_ADMIN',
          'This would leave the box without an enabled administrator; make another user admin first.',
        );
      }
      Object.assign(user, next, { updatedAt: this.now().toISOString() });
      if (passwordHash !== undefined) user.passwordHash = passwordHash;
      // A new password ends every way in that the old one opened: sessions and API tokens alike.
      if (user.disabled || passwordHash !== undefined) {
        document.sessions = document.sessions.filter((session) => session.userId !== id);
        document.apiTokens = document.apiTokens.filter((token) => token.userId !== id);
      }
      return { ...user };
    });
    this.announce('user.updated', updated, actor.userId);
    return toPublicUser(updated);
  }

  async deleteUser(actor: Subject, id: string): Promise<void> {
    const removed = await this.store.update((document) => {
      const user = document.users.find((candidate) => candidate.id === id);
      if (!user) throw notFound(id);
      const rest = document.users.filter((candidate) => candidate.id !== id);
      if (!hasEnabledAdmin(rest)) {
        throw new BivouacError(
          'LAST_ADMIN',
          'This would leave the box without an enabled administrator; make another user admin first.',
        );
      }
      document.users = rest;
      document.sessions = document.sessions.filter((session) => session.userId !== id);
      document.apiTokens = document.apiTokens.filter((token) => token.userId !== id);
      delete document.quotas[id];
      return user;
    });
    this.announce('user.deleted', removed, actor.userId);
  }

  /**
   * Checks credentials with throttling; the same error for an unknown user and a wrong password.
   * With a screen id the session is the box's own screen (a kiosk session); the caller checks
   * that the request came in on the local listener.
   */
  async login(username: string, password: string, origin: SignInOrigin): Promise<IssuedSession> {
    const user = this.store.data.users.find((candidate) => candidate.username === username);
    const isRight = await this.checks.check(
      passwordKeys(username, origin.clientAddress),
      signInThrottled,
      async () => {
        const matches = await verifyPassword(password, user?.passwordHash ?? decoyHash);
        return user !== undefined && matches && !user.disabled;
      },
    );
    if (!isRight || !user)
      throw new BivouacError('INVALID_CREDENTIALS', 'Wrong user name or password.');
    return this.openSession(user.id, origin.screenId);
  }

  async logout(sessionId: string): Promise<void> {
    await this.store.update((document) => {
      document.sessions = document.sessions.filter((session) => session.id !== sessionId);
    });
  }

  /** The principal behind a session cookie or bearer token, or null when neither is valid. */
  authenticate(credentials: {
    cookie?: string | undefined;
    bearer?: string | undefined;
  }): Principal | null {
    const { data } = this.store;
    if (credentials.bearer) {
      const hash = hashSecret(credentials.bearer);
      const token = data.apiTokens.find((candidate) => candidate.tokenHash === hash);
      const user = token && this.activeUser(token.userId);
      return user ? { user, subject: { userId: user.id, role: user.role }, via: 'token' } : null;
    }
    if (credentials.cookie) {
      const hash = hashSecret(credentials.cookie);
      const session = data.sessions.find((candidate) => candidate.tokenHash === hash);
      if (!session || Date.parse(session.expiresAt) <= this.now().getTime()) return null;
      const user = this.activeUser(session.userId);
      return user
        ? { user, subject: { userId: user.id, role: user.role }, via: 'session', session }
        : null;
    }
    return null;
  }

  listTokens(userId: string): ApiToken[] {
    return this.store.data.apiTokens.filter((token) => token.userId === userId);
  }

  async createToken(userId: string, name: string): Promise<ApiToken & { token: string }> {
    const token = newSecret('bvt');
    const record: ApiToken = {
      id: newId(),
      userId,
      name,
      tokenHash: hashSecret(token),
      createdAt: this.now().toISOString(),
    };
    await this.store.update((document) => {
      const held = document.apiTokens.filter((token) => token.userId === userId).length;
      if (held >= limits.apiTokensPerUser)
        throw new BivouacError(
          'TOKENS_FULL',
          `You hold ${held} API tokens, the most one user may; revoke one first.`,
          { held, allowed: limits.apiTokensPerUser },
        );
      document.apiTokens.push(record);
    });
    // Transient: a user churning their own tokens must not push other users' durable events out
    // of the shared replay window. Only their own screens follow it, and the token list reloads
    // after a reconnect's reset or the page's own change.
    this.events.broadcast(domainEvent('token.created', record.id, privateTo(userId), { name }));
    return { ...record, token };
  }

  async revokeToken(userId: string, id: string): Promise<void> {
    await this.store.update((document) => {
      const index = document.apiTokens.findIndex(
        (token) => token.id === id && token.userId === userId,
      );
      if (index < 0)
        throw new BivouacError('NOT_FOUND', `You have no API token with id ${id}.`, {
          resource: 'token',
          id,
        });
      document.apiTokens.splice(index, 1);
    });
    this.events.broadcast(domainEvent('token.revoked', id, privateTo(userId), {}));
  }

  private async openSession(userId: string, screenId?: string): Promise<IssuedSession> {
    const cookieValue = newSecret('bvs');
    const now = this.now();
    const session: Session = {
      id: newId(),
      tokenHash: hashSecret(cookieValue),
      userId,
      csrfToken: newSecret('csrf'),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.sessionMs).toISOString(),
      ...(screenId === undefined ? {} : { screenId }),
    };
    const user = await this.store.update((document) => {
      document.sessions = document.sessions.filter(
        (existing) => Date.parse(existing.expiresAt) > now.getTime(),
      );
      // The user's oldest sessions end so theirs stay within the cap with this one.
      const theirs = document.sessions.filter((existing) => existing.userId === userId);
      const ending = new Set(
        theirs.slice(0, Math.max(0, theirs.length + 1 - limits.sessionsPerUser)),
      );
      if (ending.size > 0)
        document.sessions = document.sessions.filter((existing) => !ending.has(existing));
      document.sessions.push(session);
      return document.users.find((candidate) => candidate.id === userId);
    });
    if (!user) throw notFound(userId);
    return { cookieValue, session, user: toPublicUser(user) };
  }

  private find(id: string): User {
    const user = this.store.data.users.find((candidate) => candidate.id === id);
    if (!user) throw notFound(id);
    return user;
  }

  private activeUser(id: string): User | undefined {
    const user = this.store.data.users.find((candidate) => candidate.id === id);
    return user && !user.disabled ? user : undefined;
  }

  private announce(
    type: 'user.created' | 'user.updated' | 'user.deleted',
    user: User,
    actor: string | null,
  ): void {
    this.events.append(
      domainEvent(type, user.id, userAccess(user), {
        username: user.username,
        role: user.role,
        disabled: user.disabled,
        actor,
      }),
    );
  }
}

function alreadySetUp(): BivouacError {
  return new BivouacError('ALREADY_SET_UP', 'An administrator already exists; sign in instead.');
}

function notFound(id: string): BivouacError {
  return new BivouacError('NOT_FOUND', `No user with id ${id}.`, { resource: 'user', id });
}

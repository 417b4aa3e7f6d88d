import { toPublicUser } from '../../domain/users.ts';
import { BivouacError } from '../../errors.ts';
import type { Accounts, IssuedSession } from '../auth/accounts.ts';
import { clearSessionCookie, setSessionCookie } from '../auth/request-auth.ts';
import { listenerOf } from '../listener.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

function sessionInfo({ user, session }: Pick<IssuedSession, 'user' | 'session'>) {
  return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
}

/** First run and sign-in. */
export function sessionHandlers(
  accounts: Accounts,
  box: { tlsFingerprint: string | null; version: string; isDryRun: boolean },
): Pick<Handlers, 'getSetup' | 'createAdmin' | 'login' | 'getSession' | 'logout'> {
  return {
    getSetup: async () => ({ needsAdmin: accounts.needsAdmin, tlsFingerprint: box.tlsFingerprint, version: box.version, dryRun: box.isDryRun }),
    createAdmin: async ({ body }, { request, reply }) => {
      const issued = await accounts.createAdmin(body.username, body.password);
      setSessionCookie(request, reply, issued);
      return sessionInfo(issued);
    },
    login: async ({ body }, { request, reply }) => {
      // A kiosk session is the box's own screen: only the loopback listener it uses may open one.
      if (body.screenId !== undefined && listenerOf(request) !== 'local') {
        throw new BivouacError(
          'KIOSK_SCREEN_ONLY',
          "Only the box's own screen opens a kiosk session (a screenId), on its local listener; sign in without screenId here.",
          { field: 'screenId' },
        );
      }
      const issued = await accounts.login(body.username, body.password, { clientAddress: request.ip, screenId: body.screenId });
      setSessionCookie(request, reply, issued);
      return sessionInfo(issued);
    },
    getSession: async (_input, context) => {
      const principal = signedIn(context);
      const user = toPublicUser(principal.user);
      // A bearer token has no session: nothing to protect against cross-site forgery, no expiry.
      if (!principal.session) return { user, csrfToken: '', expiresAt: '' };
      return sessionInfo({ user, session: principal.session });
    },
    logout: async (_input, context) => {
      const { session } = signedIn(context);
      if (session) await accounts.logout(session.id);
      clearSessionCookie(context.reply);
      return null;
    },
  };
}

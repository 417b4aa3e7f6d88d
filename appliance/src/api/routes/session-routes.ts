import { toPublicUser } from '../../domain/users.ts';
import { BivouacError } from '../../errors.ts';
import type { Accounts, IssuedSession } from '../auth/accounts.ts';
import type { SetupCode } from '../auth/setup-code.ts';
import { clearSessionCookie, setSessionCookie } from '../auth/request-auth.ts';
import { listenerOf } from '../listener.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

function sessionInfo({ user, session }: Pick<IssuedSession, 'user' | 'session'>) {
  return { user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
}

/**
 * First run and sign-in. The first administrator is made only from the box itself: on its own
 * screen (the local listener, which guests and the network cannot reach), or elsewhere with the
 * one-time setup code only someone who sees the box's screen or log holds.
 */
export function sessionHandlers(
  accounts: Accounts,
  box: { tlsFingerprint: string | null; version: string; isDryRun: boolean; setupCode: SetupCode },
): Pick<Handlers, 'getSetup' | 'createAdmin' | 'login' | 'getSession' | 'logout'> {
  return {
    getSetup: async (_input, { request }) => {
      const isBoxScreen = request.listener === 'local';
      const needsAdmin = accounts.needsAdmin;
      return {
        needsAdmin,
        tlsFingerprint: box.tlsFingerprint,
        version: box.version,
        dryRun: box.isDryRun,
        setupCodeRequired: needsAdmin && !isBoxScreen,
        setupCode: needsAdmin && isBoxScreen ? box.setupCode.current : null,
      };
    },
    createAdmin: async ({ body }, { request, reply }) => {
      if (!accounts.needsAdmin)
        throw new BivouacError(
          'ALREADY_SET_UP',
          'An administrator already exists; sign in instead.',
        );
      if (request.listener !== 'local' && !box.setupCode.matches(body.setupCode)) {
        throw new BivouacError(
          'SETUP_CODE_REQUIRED',
          body.setupCode === undefined
            ? 'Creating the first administrator from another machine needs the setup code the box prints in its log and shows on its own screen (setupCode).'
            : "That is not the setup code; it is printed in the box's log and shown on its own screen.",
          { field: 'setupCode' },
        );
      }
      const issued = await accounts.createAdmin(body.username, body.password);
      box.setupCode.spend();
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
      const issued = await accounts.login(body.username, body.password, {
        clientAddress: request.ip,
        screenId: body.screenId,
      });
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
      clearSessionCookie(context.request, context.reply);
      return null;
    },
  };
}

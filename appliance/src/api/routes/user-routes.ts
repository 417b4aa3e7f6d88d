import type { Accounts } from '../auth/accounts.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** Users (admin) and one's own API tokens. */
export function userHandlers(
  accounts: Accounts,
): Pick<
  Handlers,
  | 'listUsers'
  | 'userNames'
  | 'createUser'
  | 'updateUser'
  | 'deleteUser'
  | 'listTokens'
  | 'createToken'
  | 'revokeToken'
> {
  return {
    listUsers: async () => accounts.list(),
    userNames: async () => accounts.list().map(({ id, username }) => ({ id, username })),
    createUser: async ({ body }, context) =>
      accounts.createUser(body.username, body.password, body.role, signedIn(context).user.id),
    updateUser: async ({ params, body }, context) =>
      accounts.updateUser(signedIn(context).subject, params.id, body, context.request.ip),
    deleteUser: async ({ params }, context) => {
      await accounts.deleteUser(signedIn(context).subject, params.id);
      return null;
    },
    listTokens: async (_input, context) => accounts.listTokens(signedIn(context).user.id),
    createToken: async ({ body }, context) =>
      accounts.createToken(signedIn(context).user.id, body.name),
    revokeToken: async ({ params }, context) => {
      await accounts.revokeToken(signedIn(context).user.id, params.id);
      return null;
    },
  };
}

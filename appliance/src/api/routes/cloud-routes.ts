import type { Clouds } from '../../connectors/clouds.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** Clouds: list with health, add, test, remove. */
export function cloudHandlers(clouds: Clouds): Pick<Handlers, 'listClouds' | 'addCloud' | 'testCloud' | 'removeCloud'> {
  return {
    listClouds: async () => clouds.list(),
    addCloud: async ({ body }, context) => clouds.add(body.name, body.kind, body.config, signedIn(context).user.id),
    testCloud: async ({ params }) => clouds.test(params.id),
    removeCloud: async ({ params }) => {
      await clouds.remove(params.id);
      return null;
    },
  };
}

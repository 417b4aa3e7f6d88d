import type { Clouds } from '../../connectors/clouds.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/**
 * Clouds: list with health, add, test, remove. A cloud's config names hosts and users (its URI),
 * so only administrators see it.
 */
export function cloudHandlers(clouds: Clouds): Pick<Handlers, 'listClouds' | 'addCloud' | 'testCloud' | 'removeCloud'> {
  return {
    listClouds: async (_input, context) => {
      const views = await clouds.list();
      return signedIn(context).subject.role === 'admin' ? views : views.map((view) => ({ ...view, config: null }));
    },
    addCloud: async ({ body }, context) => clouds.add(body.name, body.kind, body.config, signedIn(context).user.id),
    testCloud: async ({ params }) => clouds.test(params.id),
    removeCloud: async ({ params }) => {
      await clouds.remove(params.id);
      return null;
    },
  };
}

import { publicStatus, type CloudView } from '../../connectors/cloud-views.ts';
import type { Clouds } from '../../connectors/clouds.ts';
import type { Subject } from '../../domain/access.ts';
import { isLocked } from '../auth/kiosk.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/**
 * What a user sees of a cloud. Its config names hosts and users (its URI), and so do the errors
 * its hypervisor gives, so only administrators see either; others see whether it answers.
 */
function shownTo(subject: Subject, view: CloudView, isKioskLocked = false): CloudView {
  if (subject.role === 'admin' && !isKioskLocked) return view;
  const disabled = view.disabled && {
    reason: 'Its config is not allowed; an administrator sees why on the Clouds page.',
  };
  return { ...view, config: null, target: null, disabled, status: publicStatus(view) };
}

/** Clouds: list with health, the rules of their configs, add, test, remove. */
export function cloudHandlers(
  clouds: Clouds,
  keysDir: string,
): Pick<Handlers, 'listClouds' | 'cloudRules' | 'addCloud' | 'testCloud' | 'removeCloud'> {
  return {
    cloudRules: async () => ({ keysDir }),
    // A screen locked to the app store sees what anyone may, even when an administrator signed it in.
    listClouds: async (_input, context) =>
      (await clouds.list()).map((view) =>
        shownTo(signedIn(context).subject, view, isLocked(context.principal)),
      ),
    addCloud: async ({ body }, context) =>
      clouds.add(body.name, body.kind, body.config, signedIn(context).user.id),
    testCloud: async ({ params }) => clouds.test(params.id),
    removeCloud: async ({ params }) => {
      await clouds.remove(params.id);
      return null;
    },
  };
}

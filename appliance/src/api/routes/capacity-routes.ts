import type { Reservations } from '../../orchestrator/reservations.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** Capacity at a glance and quotas. */
export function capacityHandlers(
  reservations: Reservations,
): Pick<Handlers, 'getCapacity' | 'setQuota'> {
  return {
    getCapacity: async (_input, context) => {
      const { subject } = signedIn(context);
      const report = reservations.report();
      if (subject.role === 'admin') return report;
      return {
        box: report.box,
        users: report.users.filter((user) => user.userId === subject.userId),
      };
    },
    setQuota: async ({ params, body }) => reservations.setQuota(params.id, body),
  };
}

import { canAccess, privateTo } from '../../domain/access.ts';
import type { Reconciler } from '../../orchestrator/reconciler.ts';
import type { Runs } from '../../orchestrator/runs.ts';
import type { VmTracker } from '../../orchestrator/vm-tracker.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** The VMs on the clouds: Bivouac's own (as far as you may view them), unknown and foreign ones. */
export function vmHandlers(
  vms: VmTracker,
  reconciler: Reconciler,
  runs: Runs,
): Pick<Handlers, 'listVms'> {
  return {
    listVms: async ({ query }, context) => {
      const { subject } = signedIn(context);
      // An archived run's VMs (all gone) are kept with it.
      const archived = query.runId === undefined ? [] : await runs.queries.archivedVms(query.runId);
      const visible = [...vms.all(), ...archived].filter(
        (vm) =>
          (query.include === 'all' || vm.state !== 'gone') &&
          (query.runId === undefined || vm.runId === query.runId) &&
          canAccess(subject, privateTo(vm.owner), 'view'),
      );
      const isAdmin = subject.role === 'admin';
      return {
        vms: visible,
        unknown: isAdmin ? reconciler.unknown() : [],
        foreign: isAdmin ? reconciler.foreign() : [],
        tracking: reconciler.tracking(),
      };
    },
  };
}

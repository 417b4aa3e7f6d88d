import { canAccess, privateTo } from '../../domain/access.ts';
import type { Reconciler } from '../../orchestrator/reconciler.ts';
import type { VmTracker } from '../../orchestrator/vm-tracker.ts';
import { signedIn, type Handlers } from '../register-routes.ts';

/** The VMs on the clouds: Bivouac's own (as far as you may view them), unknown and foreign ones. */
export function vmHandlers(vms: VmTracker, reconciler: Reconciler): Pick<Handlers, 'listVms'> {
  return {
    listVms: async ({ query }, context) => {
      const { subject } = signedIn(context);
      const visible = vms
        .all()
        .filter(
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

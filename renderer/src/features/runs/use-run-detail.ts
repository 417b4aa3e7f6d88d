import { useEffect, useMemo } from 'react';
import { coalesced, useEventStream } from '../../app/live.ts';
import { useRuns, type RunDetail } from './runs-store.ts';

/**
 * One run's page data, kept live by the event stream: a parameter event reloads the parameters,
 * any other event about the run reloads the run and its log, a VM event of the run its VMs.
 */
export function useRunDetail(id: string, withVms: boolean): RunDetail | null {
  const loadDetail = useRuns((state) => state.loadDetail);
  const detail = useRuns((state) => (state.detail?.id === id ? state.detail : null));
  const reload = useMemo(
    () => ({
      run: coalesced(() => loadDetail(id, { run: true })),
      params: coalesced(() => loadDetail(id, { params: true })),
      vms: coalesced(() => loadDetail(id, { vms: true })),
    }),
    [id, loadDetail],
  );
  useEffect(() => {
    void loadDetail(id, { run: true, vms: withVms });
  }, [id, withVms, loadDetail]);
  useEventStream(
    (event) => {
      if (event.subject.kind === 'run' && event.subject.id === id)
        (event.type === 'run.param' ? reload.params : reload.run)();
      else if (withVms && event.subject.kind === 'vm' && event.data.runId === id) reload.vms();
    },
    () => {
      reload.run();
      if (withVms) reload.vms();
    },
  );
  return detail;
}

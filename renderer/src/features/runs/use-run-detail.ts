import { useEffect, useMemo } from 'react';
import { coalesced, useEventStream } from '../../app/live.ts';
import { useRuns, type RunDetail } from './runs-store.ts';

/**
 * One run's page data, kept live by the event stream: each event is applied in place from what
 * it carries (a parameter, a VM's record, the new state and log entries), and only a change of
 * the run reads the run again (one request). A reset of the stream reloads everything.
 */
export function useRunDetail(id: string, withVms: boolean): RunDetail | null {
  const loadDetail = useRuns((state) => state.loadDetail);
  const applyEvent = useRuns((state) => state.applyEvent);
  const detail = useRuns((state) => (state.detail?.id === id ? state.detail : null));
  const reload = useMemo(
    () => ({
      run: coalesced(() => loadDetail(id, { run: true })),
      all: coalesced(() => loadDetail(id, { run: true, log: true, vms: withVms })),
    }),
    [id, withVms, loadDetail],
  );
  useEffect(() => {
    void loadDetail(id, { run: true, log: true, vms: withVms });
  }, [id, withVms, loadDetail]);
  useEventStream(
    (event) => {
      if (applyEvent(event)) reload.run();
    },
    () => reload.all(),
  );
  return detail;
}

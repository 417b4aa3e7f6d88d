import { useCallback, useState } from 'react';
import type { LiveEvent } from '../api/events.ts';
import type { ApiError, Result } from '../api/client.ts';
import { useLiveLoad } from './live.ts';

/**
 * A list the editors offer (base images, clouds, apps), loaded with `useLiveLoad` and again on
 * matching events. A failed load keeps the last list and hands back the box's error to show,
 * so a failure is never silent; the next good load clears it. `reload` asks again at once
 * (after a change the page made itself).
 */
export function useLiveList<T>(
  load: () => Promise<Result<T[]>>,
  matches: (event: LiveEvent) => boolean,
): { items: T[]; error: ApiError | null; reload: () => Promise<void> } {
  const [items, setItems] = useState<T[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const reload = useCallback(async () => {
    const result = await load();
    if (result.ok) setItems(result.value);
    setError(result.ok ? null : result.error);
  }, [load]);
  useLiveLoad(reload, matches);
  return { items, error, reload };
}

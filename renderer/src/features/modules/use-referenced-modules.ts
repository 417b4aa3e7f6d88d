import { useEffect, useMemo, useState } from 'react';
import type { DeploymentContent, ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { useEventStream } from '../../app/live.ts';
import { missingReferences, type LoadedModules } from './deployment-check.ts';

/** How long typing may pause before the references typed so far are looked up. */
const lookupDelayMs = 250;

type Loaded = ReadonlyMap<string, { version: number; content: ModuleContent } | null>;

/**
 * The image versions a deployment draft names, fetched as they are typed (after a short pause)
 * with their parent chains, so the draft can be checked in the page with the box's own rules.
 * A module the box says does not exist is remembered as missing (the check names it); any other
 * failure is handed back as `error` and tried again on the next module event. A saved or deleted
 * module is fetched again; `isComplete` says every reference is loaded.
 */
export function useReferencedModules(content: DeploymentContent): {
  loaded: LoadedModules;
  isComplete: boolean;
  error: ApiError | null;
} {
  const [loaded, setLoaded] = useState<Loaded>(new Map());
  const [error, setError] = useState<ApiError | null>(null);
  /** Bumped to look the failed references up again. */
  const [attempt, setAttempt] = useState(0);
  const missing = useMemo(() => missingReferences(content, loaded), [content, loaded]);
  const key = missing.join('\n');

  useEffect(() => {
    if (key === '') return;
    let isCancelled = false;
    const timer = setTimeout(() => {
      void Promise.all(
        key.split('\n').map(async (reference) => ({
          reference,
          result: await callSafe('getModule', { query: { ref: reference } }),
        })),
      ).then((answers) => {
        if (isCancelled) return;
        const found = new Map<string, { version: number; content: ModuleContent } | null>();
        let failure: ApiError | null = null;
        for (const { reference, result } of answers) {
          if (result.ok)
            found.set(reference, {
              version: result.value.version,
              content: result.value.content as ModuleContent,
            });
          // Only the box saying there is no such module is final; the check names it.
          else if (result.error.code === 'NOT_FOUND') found.set(reference, null);
          else failure ??= result.error;
        }
        setError(failure);
        setLoaded((previous) => new Map([...previous, ...found]));
      });
    }, lookupDelayMs);
    return () => {
      isCancelled = true;
      clearTimeout(timer);
    };
  }, [key, attempt]);

  useEventStream(
    (event) => {
      if (event.subject.kind !== 'module') return;
      const path = event.subject.id;
      if (error) setAttempt((count) => count + 1);
      setLoaded((previous) => {
        const stale = [...previous.keys()].filter(
          (reference) => reference === path || reference.startsWith(`${path}@`),
        );
        if (stale.length === 0) return previous;
        const next = new Map(previous);
        for (const reference of stale) next.delete(reference);
        return next;
      });
    },
    () => setLoaded(new Map()),
  );

  return { loaded, isComplete: missing.length === 0, error };
}

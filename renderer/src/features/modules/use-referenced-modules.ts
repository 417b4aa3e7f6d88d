import { useEffect, useMemo, useState } from 'react';
import type { DeploymentContent, ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe } from '../../api/client.ts';
import { useEventStream } from '../runs/live.ts';
import { missingReferences, type LoadedModules } from './deployment-check.ts';

/** How long typing may pause before the references typed so far are looked up. */
const lookupDelayMs = 250;

/**
 * The image versions a deployment draft names, fetched as they are typed (after a short pause)
 * with their parent chains, so the draft can be checked in the page with the box's own rules.
 * A saved or deleted module is fetched again; `isComplete` says every reference is loaded.
 */
export function useReferencedModules(content: DeploymentContent): {
  loaded: LoadedModules;
  isComplete: boolean;
} {
  const [loaded, setLoaded] = useState<
    ReadonlyMap<string, { version: number; content: ModuleContent } | null>
  >(new Map());
  const missing = useMemo(() => missingReferences(content, loaded), [content, loaded]);
  const key = missing.join('\n');

  useEffect(() => {
    if (key === '') return;
    let isCancelled = false;
    const timer = setTimeout(() => {
      void Promise.all(
        key.split('\n').map(async (reference) => {
          const result = await callSafe('getModule', { query: { ref: reference } });
          // A reference the box refuses (no such module, not an image you may view) is a problem the check names.
          return [
            reference,
            result.ok
              ? { version: result.value.version, content: result.value.content as ModuleContent }
              : null,
          ] as const;
        }),
      ).then((entries) => {
        if (!isCancelled) setLoaded((previous) => new Map([...previous, ...entries]));
      });
    }, lookupDelayMs);
    return () => {
      isCancelled = true;
      clearTimeout(timer);
    };
  }, [key]);

  useEventStream(
    (event) => {
      if (event.subject.kind !== 'module') return;
      const path = event.subject.id;
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

  return { loaded, isComplete: missing.length === 0 };
}

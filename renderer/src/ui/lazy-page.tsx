import { Component, lazy, Suspense, useEffect, type ComponentType, type ReactNode } from 'react';

/** How long a section's code may take to arrive before the page says it could not load it. */
const chunkTimeoutMs = 10_000;

/** A section's code did not arrive: the box did not answer, or it answered with another build. */
class ChunkLoadError extends Error {
  override name = 'ChunkLoadError';
}

/**
 * A page component loaded on first visit (so the first screen's JavaScript stays small), given
 * up on after `chunkTimeoutMs` instead of hanging when the box does not answer.
 */
export function lazySection<K extends string, P extends object>(
  load: () => Promise<Record<K, ComponentType<P>>>,
  name: K,
) {
  return lazy(async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChunkLoadError(`no answer in ${chunkTimeoutMs / 1000} s`)),
        chunkTimeoutMs,
      );
    });
    try {
      const module = await Promise.race([load(), timedOut]);
      return { default: module[name] };
    } catch (error) {
      throw error instanceof ChunkLoadError ? error : new ChunkLoadError((error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  });
}

/** A page loaded on first visit, inside the app's frame: a load that fails offers a retry there. */
export function lazyPage(page: ReactNode): ReactNode {
  return (
    <SectionBoundary>
      <Suspense fallback={<p role="status">Loading…</p>}>{page}</Suspense>
    </SectionBoundary>
  );
}

/** Catches a section whose code could not be loaded; any other error goes on to the router's. */
class SectionBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    if (!(error instanceof ChunkLoadError)) throw error;
    return <SectionRetry />;
  }
}

/**
 * Says the section could not be loaded and offers to try again; once the box answers, the page
 * loads again by itself (with the box's current build, should it have changed meanwhile).
 */
function SectionRetry() {
  useEffect(() => {
    const timer = setInterval(() => {
      fetch('/healthz', { cache: 'no-store' })
        .then((answer) => {
          if (answer.ok) window.location.reload();
        })
        .catch(() => undefined);
    }, 2000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div role="alert" className="section-retry">
      <p>
        This section could not be loaded: the box did not answer. It loads by itself once the box is
        back.
      </p>
      <button type="button" onClick={() => window.location.reload()}>
        Try again
      </button>
    </div>
  );
}

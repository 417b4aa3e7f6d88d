import { Suspense, type ReactNode } from 'react';

/** A page loaded on first visit, so the first screen's JavaScript stays small. */
export function lazyPage(page: ReactNode): ReactNode {
  return <Suspense fallback={<p role="status">Loading…</p>}>{page}</Suspense>;
}

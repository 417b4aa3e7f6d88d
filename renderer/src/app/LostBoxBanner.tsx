import { useApp } from './store.ts';

/**
 * Said on every screen, the kiosk's included, once the box has missed two heartbeats: it does not
 * answer, and the page goes on trying by itself. Gone at the next beat.
 */
export function LostBoxBanner() {
  const lost = useApp((state) => state.boxLost);
  if (!lost) return null;
  return (
    <p className="banner lost" role="alert">
      The box does not answer. This page keeps trying and updates by itself once the box is back.
    </p>
  );
}

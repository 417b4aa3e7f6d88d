import { useEffect, useRef } from 'react';
import { useLocation } from 'react-router';

/** How long a page that loads its code or data may take to show its heading. */
const headingWaitMs = 5000;

/**
 * After each navigation (not the first page load), focus moves to the new page's heading, so a
 * keyboard or screen-reader user starts where the page starts instead of on the page's body,
 * unless focus is still on a control inside the page. A page still loading is waited for until
 * its heading appears.
 */
export function useFocusHeadingOnNavigate(): void {
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const content = document.getElementById('content');
    if (!content) return;
    // A change made from within the page that keeps its control (the Modules tree's keys move
    // through addresses) leaves focus where the person is.
    const active = document.activeElement;
    if (active && active !== document.body && content.contains(active)) return;
    const focusHeading = (): boolean => {
      const heading = content.querySelector('h1');
      if (!heading) return false;
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus();
      return true;
    };
    if (focusHeading()) return;
    const observer = new MutationObserver(() => {
      if (focusHeading()) stop();
    });
    const timer = setTimeout(() => stop(), headingWaitMs);
    const stop = () => {
      observer.disconnect();
      clearTimeout(timer);
    };
    observer.observe(content, { childList: true, subtree: true });
    return stop;
  }, [pathname]);
}

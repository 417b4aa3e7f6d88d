import type { Event, HandlerDetails, WebContents, WindowOpenHandlerResponse } from 'electron';
import type { Disposer } from './disposer.ts';

const webProtocols = new Set(['http:', 'https:']);

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * The one rule for what the app window may show: a URL is internal only when it is an http(s)
 * URL with exactly the appliance's origin (scheme, host and port). Everything else — other hosts
 * or ports, `file:`, `javascript:`, `data:`, `blob:`, `view-source:`, URLs carrying credentials,
 * strings that do not parse — is external. Navigation guards, the IPC sender check and the
 * window-open handler all ask this function, so the policy lives in one place. It is pure so
 * that hostile inputs can be tested as a table.
 */
export function isInternalUrl(url: string, appOrigin: string): boolean {
  const target = parse(url);
  const app = parse(appOrigin);
  if (!target || !app) return false;
  if (!webProtocols.has(app.protocol)) return false;
  // `blob:http://host/…` reports the inner origin, so compare the scheme itself as well.
  if (target.protocol !== app.protocol) return false;
  // The appliance never uses URL credentials; a URL with them is a phishing pattern.
  if (target.username !== '' || target.password !== '') return false;
  return target.origin === app.origin;
}

/**
 * True for http(s) URLs, the only kind the shell will hand to the desktop's browser: `file:`,
 * `smb:`, custom schemes and the like could start local programs.
 */
export function isExternalWebUrl(url: string): boolean {
  const target = parse(url);
  return (
    target !== null &&
    webProtocols.has(target.protocol) &&
    target.username === '' &&
    target.password === ''
  );
}

/** What the guard needs besides the window. */
export interface NavigationGuardOptions {
  /** The appliance's origin, e.g. `http://127.0.0.1:8080`. */
  appOrigin: string;
  /**
   * Called with an external http(s) link the user followed; absent where external links are
   * simply blocked (kiosk: no other browser is visible on the box's screen).
   */
  openExternal?: (url: string) => void;
}

/**
 * Keeps the window on the appliance: any navigation or redirect to a non-internal URL, in any
 * frame, is cancelled; `window.open` never creates a window (external http(s) links go to the
 * desktop's browser instead); `<webview>` is never attached. Returns the stop, which removes the
 * listeners and leaves `window.open` denied.
 */
export function guardNavigation(contents: WebContents, options: NavigationGuardOptions): Disposer {
  const { appOrigin, openExternal } = options;

  const blockExternal = (event: Event<{ url: string }>): void => {
    if (isInternalUrl(event.url, appOrigin)) return;
    event.preventDefault();
    if (openExternal && isExternalWebUrl(event.url)) openExternal(event.url);
  };
  // A redirect is never user intent: block it without opening anything.
  const blockExternalRedirect = (event: Event<{ url: string }>): void => {
    if (!isInternalUrl(event.url, appOrigin)) event.preventDefault();
  };
  // The main frame is will-navigate's (which may open the link outside); this covers the rest.
  const blockExternalSubframe = (event: Event<{ url: string; isMainFrame: boolean }>): void => {
    if (!event.isMainFrame) blockExternalRedirect(event);
  };
  const blockWebview = (event: Event): void => event.preventDefault();
  const denyWindow = ({ url }: HandlerDetails): WindowOpenHandlerResponse => {
    if (!isInternalUrl(url, appOrigin) && openExternal && isExternalWebUrl(url)) openExternal(url);
    return { action: 'deny' };
  };

  contents.on('will-navigate', blockExternal);
  contents.on('will-frame-navigate', blockExternalSubframe);
  contents.on('will-redirect', blockExternalRedirect);
  contents.on('will-attach-webview', blockWebview);
  contents.setWindowOpenHandler(denyWindow);

  return () => {
    // A closed window takes its listeners with it.
    if (contents.isDestroyed()) return;
    contents.off('will-navigate', blockExternal);
    contents.off('will-frame-navigate', blockExternalSubframe);
    contents.off('will-redirect', blockExternalRedirect);
    contents.off('will-attach-webview', blockWebview);
    // Deliberately no reset of the window-open handler: denying stays the safe default.
  };
}

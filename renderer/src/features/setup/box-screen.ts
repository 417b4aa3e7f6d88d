/**
 * Whether this page is the box's own screen, and the screen id its kiosk sessions sign in with.
 * A kiosk session (the only kind that can be locked to the app store) is opened on the
 * appliance's local listener, which serves plain HTTP on loopback only, by signing in with a
 * screen id:
 * - the desktop shell in kiosk mode gives its id (kept in its user data) through `window.bivouac`;
 * - any other browser on the box's screen, at a loopback address (http://localhost:8080), can
 *   ask for it on the sign-in form; its id is made once and kept in that browser's storage.
 * The appliance refuses a screen id anywhere but on its local listener.
 */

/** The part of the desktop shell's `window.bivouac` read here (the shell's IPC contract has all of it). */
interface ShellBridge {
  getShellInfo(): Promise<{ kiosk: boolean; screenId?: string | null }>;
}

const storageKey = 'bivouac.screenId';
const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The screen id of the desktop shell in kiosk mode, or null in any other browser. */
export async function shellScreenId(): Promise<string | null> {
  const bridge = (window as Window & { bivouac?: ShellBridge }).bivouac;
  if (!bridge) return null;
  try {
    const info = await bridge.getShellInfo();
    return info.kiosk && typeof info.screenId === 'string' ? info.screenId : null;
  } catch {
    return null;
  }
}

/** The page is served on a loopback address, as the local listener is: it may be the box's screen. */
export function isOnLoopback(): boolean {
  return loopbackHosts.has(window.location.hostname) || window.location.hostname.startsWith('127.');
}

/** This browser's screen id, made once (16 random bytes) and kept in its local storage. */
export function browserScreenId(): string {
  const stored = window.localStorage.getItem(storageKey);
  if (stored && /^[A-Za-z0-9_-]{16,64}$/.test(stored)) return stored;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const made = `screen-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  window.localStorage.setItem(storageKey, made);
  return made;
}

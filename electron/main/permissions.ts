import type { Session } from 'electron';
import type { Disposer } from './disposer.ts';
import { isInternalUrl } from './navigation.ts';

/**
 * The permissions the appliance's own pages may use: writing to the clipboard (copying a token
 * or the TLS fingerprint). Electron grants every permission by default; nothing else — camera,
 * microphone, geolocation, notifications, HID, serial, reading the clipboard — is needed, and
 * on the box's screen nobody should be asked.
 */
const allowedPermissions: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * Pure decision used by both Electron hooks: only allowlisted permissions, only for the
 * appliance's origin.
 */
export function isPermissionAllowed(
  permission: string,
  requestingUrl: string,
  appOrigin: string,
): boolean {
  return allowedPermissions.has(permission) && isInternalUrl(requestingUrl, appOrigin);
}

/**
 * Installs the permission policy on the session. Returns the stop, which restores Electron's
 * default handlers.
 */
export function restrictPermissions(session: Session, appOrigin: string): Disposer {
  session.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl, appOrigin));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
    isPermissionAllowed(permission, requestingOrigin, appOrigin),
  );
  return () => {
    session.setPermissionRequestHandler(null);
    session.setPermissionCheckHandler(null);
  };
}

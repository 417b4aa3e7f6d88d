import type { Session } from 'electron';
import { describe, expect, it } from 'vitest';
import { isPermissionAllowed, restrictPermissions } from '../../../electron/main/permissions.ts';

const appOrigin = 'http://127.0.0.1:8080';

describe('isPermissionAllowed', () => {
  it('lets the appliance write to the clipboard', () => {
    expect(
      isPermissionAllowed('clipboard-sanitized-write', `${appOrigin}/session`, appOrigin),
    ).toBe(true);
    expect(isPermissionAllowed('clipboard-sanitized-write', appOrigin, appOrigin)).toBe(true);
  });

  it.each([
    'media',
    'geolocation',
    'notifications',
    'clipboard-read',
    'hid',
    'serial',
    'openExternal',
  ])('denies %s', (permission) => {
    expect(isPermissionAllowed(permission, appOrigin, appOrigin)).toBe(false);
  });

  it('denies even the clipboard to any other origin', () => {
    expect(
      isPermissionAllowed('clipboard-sanitized-write', 'https://evil.example.com/', appOrigin),
    ).toBe(false);
    expect(isPermissionAllowed('clipboard-sanitized-write', 'file:///tmp/x.html', appOrigin)).toBe(
      false,
    );
  });
});

describe('restrictPermissions', () => {
  it('installs both handlers on the session and restores the defaults on stop', async () => {
    // A fake of Electron's Session (no Electron binary here): it keeps the two handlers.
    const installed: { request: unknown; check: unknown } = { request: null, check: null };
    const fakeSession = {
      setPermissionRequestHandler: (handler: unknown) => void (installed.request = handler),
      setPermissionCheckHandler: (handler: unknown) => void (installed.check = handler),
    } as unknown as Session;

    const stop = restrictPermissions(fakeSession, appOrigin);
    const request = installed.request as (
      c: unknown,
      p: string,
      cb: (ok: boolean) => void,
      d: { requestingUrl: string },
    ) => void;
    const check = installed.check as (c: unknown, p: string, origin: string) => boolean;
    const answers: boolean[] = [];
    request(null, 'media', (ok) => answers.push(ok), { requestingUrl: `${appOrigin}/` });
    request(null, 'clipboard-sanitized-write', (ok) => answers.push(ok), {
      requestingUrl: `${appOrigin}/`,
    });
    expect(answers).toEqual([false, true]);
    expect(check(null, 'geolocation', appOrigin)).toBe(false);
    expect(check(null, 'clipboard-sanitized-write', appOrigin)).toBe(true);

    await stop();
    expect(installed).toEqual({ request: null, check: null });
  });
});

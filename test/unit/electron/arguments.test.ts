import { describe, expect, it } from 'vitest';
import { parseShellArguments, ShellArgumentError } from '../../../electron/main/arguments.ts';

describe('parseShellArguments', () => {
  it('starts its own appliance in a normal window by default', () => {
    expect(parseShellArguments([])).toEqual({ kiosk: false, applianceUrl: null });
    expect(parseShellArguments(['.'])).toEqual({ kiosk: false, applianceUrl: null });
  });

  it('reads --kiosk among the app path and Chromium switches', () => {
    expect(parseShellArguments(['.', '--no-sandbox', '--kiosk', '--enable-logging'])).toEqual({
      kiosk: true,
      applianceUrl: null,
    });
  });

  it('does not take a look-alike flag for --kiosk', () => {
    expect(parseShellArguments(['--kiosk-printing', '--no-kiosk']).kiosk).toBe(false);
  });

  it('reads --appliance-url with = or as the next argument, as an origin', () => {
    expect(parseShellArguments(['--kiosk', '--appliance-url=http://127.0.0.1:8080'])).toEqual({
      kiosk: true,
      applianceUrl: 'http://127.0.0.1:8080',
    });
    expect(parseShellArguments(['--appliance-url', 'http://localhost:9000/']).applianceUrl).toBe(
      'http://localhost:9000',
    );
    expect(parseShellArguments(['--appliance-url=http://[::1]']).applianceUrl).toBe('http://[::1]');
  });

  it.each([
    ['https, which the window does not load', '--appliance-url=https://127.0.0.1:8443'],
    ['a remote host', '--appliance-url=http://192.168.1.20:8080'],
    ['a host that only starts like localhost', '--appliance-url=http://localhost.example.com:8080'],
    ['a path', '--appliance-url=http://127.0.0.1:8080/runs'],
    ['credentials', '--appliance-url=http://admin:pw@127.0.0.1:8080'],
    ['a file URL', '--appliance-url=file:///etc/passwd'],
    ['javascript', '--appliance-url=javascript:alert(1)'],
    ['no URL', '--appliance-url='],
  ])('refuses %s', (_what, arg) => {
    expect(() => parseShellArguments([arg])).toThrow(ShellArgumentError);
  });

  it('refuses --appliance-url as the last argument with no value', () => {
    expect(() => parseShellArguments(['--kiosk', '--appliance-url'])).toThrow(
      /--appliance-url wants/,
    );
  });
});

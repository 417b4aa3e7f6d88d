import { EventEmitter } from 'node:events';
import type { HandlerDetails, WebContents, WindowOpenHandlerResponse } from 'electron';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  guardNavigation,
  isExternalWebUrl,
  isInternalUrl,
} from '../../../electron/main/navigation.ts';

const appOrigin = 'http://127.0.0.1:8080';

describe('isInternalUrl', () => {
  it.each([
    'http://127.0.0.1:8080',
    'http://127.0.0.1:8080/',
    'http://127.0.0.1:8080/runs/42?tab=params#log',
    'HTTP://127.0.0.1:8080/apps',
  ])('keeps %s in the window', (url) => {
    expect(isInternalUrl(url, appOrigin)).toBe(true);
  });

  it.each([
    ['another port', 'http://127.0.0.1:8443/'],
    ['https on the same host', 'https://127.0.0.1:8080/'],
    ['another loopback name', 'http://localhost:8080/'],
    ['another host', 'https://example.com/'],
    ['a host that starts with the origin', 'http://127.0.0.1:8080.example.com/'],
    ['credentials', 'http://admin:secret@127.0.0.1:8080/'],
    ['a user name alone', 'http://admin@127.0.0.1:8080/'],
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['javascript: naming the origin', 'javascript://127.0.0.1:8080/%0Aalert(1)'],
    ['file:', 'file:///etc/passwd'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['blob: of the same origin', 'blob:http://127.0.0.1:8080/5d2c1b7e-0000-4000-8000-000000000000'],
    ['view-source:', 'view-source:http://127.0.0.1:8080/'],
    ['about:blank', 'about:blank'],
    ['a relative path', '/runs'],
    ['not a URL', 'not a url'],
    ['the empty string', ''],
  ])('treats %s as external', (_what, url) => {
    expect(isInternalUrl(url, appOrigin)).toBe(false);
  });

  it('trusts nothing when the app origin itself is not http(s)', () => {
    expect(isInternalUrl('file:///app/index.html', 'file:///app/index.html')).toBe(false);
    expect(isInternalUrl('anything', 'not a url')).toBe(false);
  });
});

describe('isExternalWebUrl', () => {
  it.each([
    ['https://docs.example.org/guide', true],
    ['http://192.168.1.20:8443/', true],
    ['file:///home/op/.ssh/id_rsa', false],
    ['javascript:alert(1)', false],
    ['smb://server/share', false],
    ['mailto:ops@example.org', false],
    ['https://user:pw@example.org/', false],
    ['nonsense', false],
  ])('%s → %s', (url, expected) => {
    expect(isExternalWebUrl(url)).toBe(expected);
  });
});

/** A fake of Electron's WebContents (no Electron binary here): events, the open handler, a flag. */
class FakeWebContents extends EventEmitter {
  windowOpenHandler: ((details: HandlerDetails) => WindowOpenHandlerResponse) | null = null;
  destroyed = false;
  setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void {
    this.windowOpenHandler = handler;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  /** Emits a navigation-like event as Electron does and says whether a listener cancelled it. */
  attempt(eventName: string, url: string, extra: Record<string, unknown> = {}): boolean {
    let isPrevented = false;
    this.emit(eventName, { url, ...extra, preventDefault: () => (isPrevented = true) });
    return isPrevented;
  }
  open(url: string): WindowOpenHandlerResponse {
    if (!this.windowOpenHandler) throw new Error('no window-open handler');
    return this.windowOpenHandler({ url } as HandlerDetails);
  }
}

describe('guardNavigation', () => {
  let contents: FakeWebContents;
  let opened: string[];
  let stop: () => void | Promise<void>;

  beforeEach(() => {
    contents = new FakeWebContents();
    opened = [];
    stop = guardNavigation(contents as unknown as WebContents, {
      appOrigin,
      openExternal: (url) => opened.push(url),
    });
  });

  it('lets the main frame navigate within the appliance', () => {
    expect(contents.attempt('will-navigate', `${appOrigin}/runs`)).toBe(false);
    expect(opened).toEqual([]);
  });

  it('keeps the window on the appliance and opens an external web link in the browser', () => {
    expect(contents.attempt('will-navigate', 'https://docs.example.org/')).toBe(true);
    expect(opened).toEqual(['https://docs.example.org/']);
  });

  it.each(['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,hi', 'smb://server/share'])(
    'cancels %s and opens nothing',
    (url) => {
      expect(contents.attempt('will-navigate', url)).toBe(true);
      expect(opened).toEqual([]);
    },
  );

  it('cancels a redirect away from the appliance without opening it anywhere', () => {
    expect(contents.attempt('will-redirect', 'https://evil.example.com/')).toBe(true);
    expect(contents.attempt('will-redirect', `${appOrigin}/login`)).toBe(false);
    expect(opened).toEqual([]);
  });

  it('cancels an external subframe navigation but leaves main-frame ones to will-navigate', () => {
    expect(
      contents.attempt('will-frame-navigate', 'https://ads.example.com/', { isMainFrame: false }),
    ).toBe(true);
    expect(
      contents.attempt('will-frame-navigate', `${appOrigin}/embed`, { isMainFrame: false }),
    ).toBe(false);
    expect(
      contents.attempt('will-frame-navigate', 'https://docs.example.org/', { isMainFrame: true }),
    ).toBe(false);
    expect(opened).toEqual([]);
  });

  it('never attaches a <webview>', () => {
    expect(contents.attempt('will-attach-webview', `${appOrigin}/`)).toBe(true);
  });

  it('denies every new window, handing only external web links to the browser', () => {
    expect(contents.open(`${appOrigin}/runs/1`)).toEqual({ action: 'deny' });
    expect(contents.open('https://docs.example.org/')).toEqual({ action: 'deny' });
    expect(contents.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://docs.example.org/']);
  });

  it('blocks external links without opening them when there is no browser (kiosk)', () => {
    const kioskContents = new FakeWebContents();
    guardNavigation(kioskContents as unknown as WebContents, { appOrigin });
    expect(kioskContents.attempt('will-navigate', 'https://docs.example.org/')).toBe(true);
    expect(kioskContents.open('https://docs.example.org/')).toEqual({ action: 'deny' });
  });

  it('removes its listeners on stop, keeping new windows denied', async () => {
    expect(contents.eventNames().sort()).toEqual([
      'will-attach-webview',
      'will-frame-navigate',
      'will-navigate',
      'will-redirect',
    ]);
    await stop();
    expect(contents.eventNames()).toEqual([]);
    expect(contents.open('https://docs.example.org/')).toEqual({ action: 'deny' });
  });
});

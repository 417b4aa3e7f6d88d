import { describe, expect, it } from 'vitest';
import { formatKey, isLink, isServiceUrl, parseKey } from '../../appliance/src/domain/params.ts';

describe('runtime parameter keys', () => {
  it('reads instance, node and run keys', () => {
    expect(parseKey('db.2:port')).toEqual({ scope: 'instance', node: 'db', index: 2, name: 'port' });
    expect(formatKey(parseKey('db:ready'))).toBe('db.1:ready');
    expect(parseKey('run:url.service')).toEqual({ scope: 'run', name: 'url.service' });
    expect(isLink(parseKey('web.1:url.admin'))).toBe(true);
    expect(isLink(parseKey('web.1:port'))).toBe(false);
  });

  it('refuses malformed keys with a message saying the allowed forms', () => {
    for (const bad of ['port', 'db.0:port', 'DB.1:port', 'db.1:', 'db.1:9lives', ':x', 'db.x:port', 'a b:c']) {
      expect(() => parseKey(bad), bad).toThrow(/node\.i/);
    }
  });

  it('M4: takes as a url.* value only an http(s) or tcp URL with a host and no credentials', () => {
    for (const good of ['http://10.0.2.2:8080/', 'https://web.example/app?x=1', 'tcp://10.0.0.5:5432', 'tcp://db:3306/', 'http://web/5432/it\'s a "quoted" value']) expect(isServiceUrl(good), good).toBe(true);
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'https://box@phish.example/', 'https://u:p@x/', 'ftp://x/', 'tcp://db', 'tcp://db:1/path', 'http://', 'no url', 'http://x/\nline', `https://x/${'a'.repeat(2048)}`]) {
      expect(isServiceUrl(bad), bad).toBe(false);
    }
  });
});

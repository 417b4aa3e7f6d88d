import { describe, expect, it } from 'vitest';
import { formatKey, isLink, parseKey } from '../../appliance/src/domain/params.ts';

describe('runtime parameter keys', () => {
  it('reads instance, node and run keys', () => {
    expect(parseKey('db.2:port')).toEqual({
      scope: 'instance',
      node: 'db',
      index: 2,
      name: 'port',
    });
    expect(formatKey(parseKey('db:ready'))).toBe('db.1:ready');
    expect(parseKey('run:url.service')).toEqual({ scope: 'run', name: 'url.service' });
    expect(isLink(parseKey('web.1:url.admin'))).toBe(true);
    expect(isLink(parseKey('web.1:port'))).toBe(false);
  });

  it('refuses malformed keys with a message saying the allowed forms', () => {
    for (const bad of [
      'port',
      'db.0:port',
      'DB.1:port',
      'db.1:',
      'db.1:9lives',
      ':x',
      'db.x:port',
      'a b:c',
    ]) {
      expect(() => parseKey(bad), bad).toThrow(/node\.i/);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { newId } from '../../appliance/src/ids.ts';

describe('newId', () => {
  it('gives 16 URL-safe characters that never begin with - or _, so a run id is never read as a CLI option', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{15}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

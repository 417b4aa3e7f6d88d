import { describe, expect, it } from 'vitest';
import {
  filterFromSearch,
  noFilter,
  searchFromFilter,
} from '../../renderer/src/features/runs/runs-store.ts';

describe('runs list filters from a link', () => {
  it('takes the state and text filters a link names', () => {
    expect(filterFromSearch(new URLSearchParams('state=Ready'))).toEqual({ state: 'Ready' });
    expect(
      filterFromSearch(
        new URLSearchParams('state=Aborted&tag=app:hello-web&q=web&owner=u1&module=/apps/x'),
      ),
    ).toEqual({ state: 'Aborted', tag: 'app:hello-web', q: 'web', owner: 'u1', module: '/apps/x' });
  });

  it('ignores a state that does not exist, an offset that is not a whole page, and parameters it does not know', () => {
    expect(filterFromSearch(new URLSearchParams('state=Sleeping&offset=7&colour=red'))).toEqual({});
    expect(filterFromSearch(new URLSearchParams('offset=-20'))).toEqual({});
    expect(filterFromSearch(new URLSearchParams('offset=40'))).toEqual({ offset: 40 });
    expect(filterFromSearch(new URLSearchParams(''))).toEqual({});
  });

  it('writes a filter to the address and reads the same filter back, leaving out empty fields', () => {
    const filter = {
      ...noFilter,
      state: 'Ready' as const,
      tag: 'app:hello-web',
      q: 'web 2',
      offset: 20,
    };
    const search = searchFromFilter(filter);
    expect(search.toString()).toBe('state=Ready&tag=app%3Ahello-web&q=web+2&offset=20');
    expect({ ...noFilter, ...filterFromSearch(search) }).toEqual(filter);
    expect(searchFromFilter({ ...noFilter, module: '  ' }).toString()).toBe('');
  });
});

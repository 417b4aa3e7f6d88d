import { describe, expect, it } from 'vitest';
import { filterFromSearch } from '../../renderer/src/features/runs/runs-store.ts';

describe('runs list filters from a link', () => {
  it('takes the state and text filters a link names', () => {
    expect(filterFromSearch(new URLSearchParams('state=Ready'))).toEqual({ state: 'Ready' });
    expect(
      filterFromSearch(
        new URLSearchParams('state=Aborted&tag=app:hello-web&q=web&owner=u1&module=/apps/x'),
      ),
    ).toEqual({ state: 'Aborted', tag: 'app:hello-web', q: 'web', owner: 'u1', module: '/apps/x' });
  });

  it('ignores a state that does not exist and parameters it does not know', () => {
    expect(filterFromSearch(new URLSearchParams('state=Sleeping&offset=40&colour=red'))).toEqual(
      {},
    );
    expect(filterFromSearch(new URLSearchParams(''))).toEqual({});
  });
});

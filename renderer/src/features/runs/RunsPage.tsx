import { useCallback, useMemo, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { runStates, type RunState } from '../../../../appliance/src/domain/run-states.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import {
  filterFromSearch,
  hasFilters,
  noFilter,
  pageSize,
  searchFromFilter,
  useRuns,
  type RunFilter,
} from './runs-store.ts';
import { StateBadge } from './StateBadge.tsx';
import { useUserNames } from '../../app/use-user-names.ts';
import './runs.css';

/** Every run you may view, newest first, filtered and paged; it follows the event stream. */
export function RunsPage() {
  const filter = useRunFilter();
  const list = useRuns((state) => state.list);
  const listError = useRuns((state) => state.listError);
  const pending = useRuns((state) => state.pending);
  const loadList = useRuns((state) => state.loadList);
  const names = useUserNames();
  // A new filter makes a new loader, which loads at once; run events reload the same page.
  const load = useCallback(() => loadList(filter), [loadList, filter]);
  useLiveLoad(load, (event) => event.subject.kind === 'run' && event.type !== 'run.param');

  const total = list?.total ?? 0;
  const first = total === 0 ? 0 : filter.offset + 1;
  const last = Math.min(total, filter.offset + pageSize);
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <Filters names={names} />
      <ErrorText error={listError} />
      <div className="panel table-scroll">
        <table aria-describedby="runs-count">
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">State</th>
              <th scope="col">Module</th>
              <th scope="col">Owner</th>
              <th scope="col">Tags</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {filter.offset === 0 &&
              pending.map((deploy) => (
                <tr key={deploy.key} className="pending" aria-busy="true">
                  <td>{deploy.title}</td>
                  <td>
                    <span className="badge state-busy">Starting…</span>
                  </td>
                  <td>app {deploy.appId}</td>
                  <td>you</td>
                  <td />
                  <td>{new Date(deploy.startedAt).toLocaleString()}</td>
                </tr>
              ))}
            {list?.runs.map((run) => (
              <tr key={run.id}>
                <td>
                  <Link to={`/runs/${run.id}`}>{run.title}</Link>
                </td>
                <td>
                  <StateBadge state={run.state} terminating={run.terminating} />
                  {run.archived && <span className="badge">archived</span>}
                </td>
                <td>
                  <code>{run.module.resolved}</code>
                </td>
                <td>{names.get(run.owner) ?? run.owner}</td>
                <td>{run.tags.join(', ')}</td>
                <td>{new Date(run.createdAt).toLocaleString()}</td>
              </tr>
            ))}
            {list && list.runs.length === 0 && pending.length === 0 && (
              <tr>
                <td colSpan={6}>
                  {!hasFilters(filter)
                    ? 'No runs yet: deploy an app from the App Store.'
                    : 'No run matches these filters.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <div className="pager">
          <span id="runs-count" role="status">
            {list ? `${first}–${last} of ${total}` : 'Loading…'}
          </span>
          <Pager total={total} />
        </div>
      </div>
    </section>
  );
}

/** The list's filters, as the address names them (`/runs?state=Ready`, the Dashboard's links too). */
function useRunFilter(): RunFilter {
  const [search] = useSearchParams();
  const searchText = search.toString();
  return useMemo(
    () => ({ ...noFilter, ...filterFromSearch(new URLSearchParams(searchText)) }),
    [searchText],
  );
}

/**
 * Changes filters by changing the address, so Back returns to the previous ones; any change but
 * the page's starts again at the first page.
 */
function useChangeFilter(): (change: Partial<RunFilter>) => void {
  const filter = useRunFilter();
  const [, setSearch] = useSearchParams();
  return (change) => setSearch(searchFromFilter({ ...filter, offset: 0, ...change }));
}

function Pager({ total }: { total: number }) {
  const { offset } = useRunFilter();
  const setFilter = useChangeFilter();
  return (
    <>
      <button
        type="button"
        className="secondary"
        disabled={offset === 0}
        onClick={() => setFilter({ offset: Math.max(0, offset - pageSize) })}
      >
        Newer
      </button>
      <button
        type="button"
        className="secondary"
        disabled={offset + pageSize >= total}
        onClick={() => setFilter({ offset: offset + pageSize })}
      >
        Older
      </button>
    </>
  );
}

/** The filters, applied as you change them (text fields on Enter or leaving the field). */
function Filters({ names }: { names: Map<string, string> }) {
  const filter = useRunFilter();
  const setFilter = useChangeFilter();
  const session = useApp((state) => state.session);
  const isAdmin = session?.user.role === 'admin';

  function apply(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    setFilter({
      module: String(data.get('module') ?? ''),
      tag: String(data.get('tag') ?? ''),
      q: String(data.get('q') ?? ''),
    });
  }
  const text = (name: 'q' | 'module' | 'tag', label: string, placeholder: string) => (
    <label>
      {label}
      <input
        name={name}
        type="search"
        defaultValue={filter[name]}
        key={`${name}-${filter[name]}`}
        placeholder={placeholder}
        onBlur={(event) =>
          event.currentTarget.value !== filter[name] &&
          setFilter({ [name]: event.currentTarget.value } as Partial<RunFilter>)
        }
      />
    </label>
  );
  return (
    <form className="filters" role="search" aria-label="Filter runs" onSubmit={apply}>
      {text('q', 'Text', 'title, module or run id')}
      <label>
        State
        <select
          value={filter.state}
          onChange={(event) => setFilter({ state: event.target.value as RunState | '' })}
        >
          <option value="">Any state</option>
          {runStates.map((state) => (
            <option key={state}>{state}</option>
          ))}
        </select>
      </label>
      <label>
        Owner
        <select value={filter.owner} onChange={(event) => setFilter({ owner: event.target.value })}>
          <option value="">Anyone</option>
          {isAdmin
            ? [...names].map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))
            : session && <option value={session.user.id}>Me</option>}
        </select>
      </label>
      {text('module', 'Module', '/apps/hello-web')}
      {text('tag', 'Tag', 'app:hello-web')}
      <button type="submit">Filter</button>
      <button
        type="button"
        className="secondary"
        onClick={() => setFilter(noFilter)}
        disabled={!hasFilters(filter)}
      >
        Clear
      </button>
    </form>
  );
}

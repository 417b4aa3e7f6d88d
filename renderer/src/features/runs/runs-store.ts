import { create } from 'zustand';
import type { RouteInput, RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { runStates, type RunState } from '../../../../appliance/src/domain/run-states.ts';
import { isEventOf } from '../../../../appliance/src/domain/events.ts';
import { ApiError, asApiError, call } from '../../api/client.ts';
import type { LiveEvent } from '../../api/events.ts';
import { latestWins } from '../../api/latest.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';

export type RunSummary = RouteOutput<'listRuns'>['runs'][number];
export type RunView = RouteOutput<'getRun'>;
export type RunLogEntry = RouteOutput<'runLog'>[number];
export type Vm = RouteOutput<'listVms'>['vms'][number];

/** The list's filters as the form holds them: '' means no filter. */
export interface RunFilter {
  state: RunState | '';
  owner: string;
  module: string;
  tag: string;
  q: string;
  offset: number;
}

/** A deploy sent but not answered yet: shown at once so nobody presses Deploy twice. */
export interface PendingDeploy {
  key: string;
  appId: string;
  title: string;
  startedAt: string;
}

/** One run's page: the run (with its parameters, secrets masked), its log and (outside kiosk mode) its VMs. */
export interface RunDetail {
  id: string;
  run: RunView | null;
  log: RunLogEntry[];
  vms: Vm[];
  error: ApiError | null;
}

export const pageSize = 20;
export const noFilter: RunFilter = { state: '', owner: '', module: '', tag: '', q: '', offset: 0 };

interface RunsState {
  list: RouteOutput<'listRuns'> | null;
  listError: ApiError | null;
  pending: PendingDeploy[];
  detail: RunDetail | null;
  /** Loads the page of the list that `filter` (the address's, see RunsPage) asks for. */
  loadList(filter: RunFilter): Promise<void>;
  addPending(deploy: PendingDeploy): void;
  removePending(key: string): void;
  /** Loads what `parts` names of run `id` (all of it for a new id). */
  loadDetail(id: string, parts: { run?: boolean; log?: boolean; vms?: boolean }): Promise<void>;
  /**
   * Applies an event about the open run or one of its VMs to the page in place, from what the
   * event carries. True when the run itself must be read again (its instances and flags are not
   * in the event): one request for a change of state, none for a parameter or a VM.
   */
  applyEvent(event: LiveEvent): boolean;
}

/**
 * `log` with the entries an event carries appended, less those it already ends with: a reload
 * answered after the change already holds them.
 */
export function withEntries(log: RunLogEntry[], entries: readonly RunLogEntry[]): RunLogEntry[] {
  const same = (a: RunLogEntry, b: RunLogEntry) =>
    a.time === b.time && a.actor === b.actor && a.action === b.action && a.detail === b.detail;
  const tail = log.slice(-Math.max(entries.length, 1) * 2);
  const fresh = entries.filter((entry) => !tail.some((held) => same(held, entry)));
  return fresh.length === 0 ? log : [...log, ...fresh];
}

export function hasFilters(filter: RunFilter): boolean {
  return (
    filter.state !== '' ||
    filter.owner !== '' ||
    [filter.module, filter.tag, filter.q].some((text) => text.trim() !== '')
  );
}

/**
 * The filters the address names (`/runs?state=Ready&tag=app:hello-web&offset=20`): the list's
 * filters live there, so a filtered list can be linked, bookmarked and gone back to. An unknown
 * state and an offset that is not a whole page are ignored.
 */
export function filterFromSearch(search: URLSearchParams): Partial<RunFilter> {
  const filter: Partial<RunFilter> = {};
  const state = search.get('state');
  if (state !== null && (runStates as readonly string[]).includes(state))
    filter.state = state as RunState;
  for (const key of ['owner', 'module', 'tag', 'q'] as const) {
    const value = search.get(key);
    if (value !== null) filter[key] = value;
  }
  const offset = Number(search.get('offset') ?? '');
  if (Number.isSafeInteger(offset) && offset > 0 && offset % pageSize === 0) filter.offset = offset;
  return filter;
}

/** The address's query for a filter: what `filterFromSearch` reads back, empty fields left out. */
export function searchFromFilter(filter: RunFilter): URLSearchParams {
  const search = new URLSearchParams();
  for (const key of ['state', 'owner', 'module', 'tag', 'q'] as const) {
    if (filter[key].trim() !== '') search.set(key, filter[key]);
  }
  if (filter.offset > 0) search.set('offset', String(filter.offset));
  return search;
}

/** The listRuns query for a filter: empty fields are left out. */
export function listQuery(filter: RunFilter): RouteInput<'listRuns'>['query'] {
  return {
    limit: pageSize,
    offset: filter.offset,
    ...(filter.state ? { state: filter.state } : {}),
    ...(filter.owner ? { owner: filter.owner } : {}),
    ...(filter.module.trim() ? { module: filter.module.trim() } : {}),
    ...(filter.tag.trim() ? { tag: filter.tag.trim() } : {}),
    ...(filter.q.trim() ? { q: filter.q.trim() } : {}),
  };
}

const listRequests = latestWins<'list'>();

/** Runs: the filtered list, deploys in flight, and the open run's page, all fed by the event stream. */
export const useRuns = forgetOnSignOut(
  create<RunsState>((set, get) => ({
    list: null,
    listError: null,
    pending: [],
    detail: null,
    async loadList(filter) {
      const isLatest = listRequests.start('list');
      try {
        const list = await call('listRuns', { query: listQuery(filter) });
        if (isLatest()) set({ list, listError: null });
      } catch (error) {
        if (isLatest()) set({ listError: asApiError(error) });
      }
    },
    addPending(deploy) {
      set((state) => ({ pending: [...state.pending, deploy] }));
    },
    removePending(key) {
      set((state) => ({ pending: state.pending.filter((deploy) => deploy.key !== key) }));
    },
    async loadDetail(id, parts) {
      const fresh = get().detail?.id !== id;
      if (fresh) set({ detail: { id, run: null, log: [], vms: [], error: null } });
      const wants = {
        run: fresh || parts.run === true,
        log: fresh || parts.log === true,
        vms: parts.vms === true,
      };
      try {
        const [run, log, vms] = await Promise.all([
          wants.run ? call('getRun', { params: { id } }) : null,
          wants.log ? call('runLog', { params: { id } }) : null,
          wants.vms ? call('listVms', { query: { include: 'all', runId: id } }) : null,
        ]);
        set((state) => {
          const detail = state.detail;
          if (detail?.id !== id) return {};
          return {
            detail: {
              id,
              run: run ?? detail.run,
              log: log ?? detail.log,
              vms: vms ? vms.vms : detail.vms,
              error: null,
            },
          };
        });
      } catch (error) {
        set((state) =>
          state.detail?.id === id ? { detail: { ...state.detail, error: asApiError(error) } } : {},
        );
      }
    },
    applyEvent(event) {
      const detail = get().detail;
      if (!detail) return false;
      if (isEventOf(event, 'vm.state', 'vm.gone')) {
        const vm = event.data;
        if (vm.runId !== detail.id) return false;
        const known = detail.vms.some((held) => held.id === vm.id);
        const vms = known
          ? detail.vms.map((held) => (held.id === vm.id ? vm : held))
          : [...detail.vms, vm];
        set({ detail: { ...detail, vms } });
        return false;
      }
      if (event.subject.kind !== 'run' || event.subject.id !== detail.id) return false;
      if (isEventOf(event, 'run.deleted')) {
        set({
          detail: {
            ...detail,
            run: null,
            error: new ApiError(404, 'NOT_FOUND', 'This run was deleted.'),
          },
        });
        return false;
      }
      if (isEventOf(event, 'run.param')) {
        const { run } = detail;
        if (run)
          set({
            detail: {
              ...detail,
              run: { ...run, params: { ...run.params, [event.data.key]: event.data.value } },
            },
          });
        return false;
      }
      if (isEventOf(event, 'run.created', 'run.state', 'run.updated')) {
        const { run } = detail;
        const abort = isEventOf(event, 'run.state') ? { abort: event.data.abort } : {};
        set({
          detail: {
            ...detail,
            run: run ? { ...run, state: event.data.state, ...abort } : run,
            log: withEntries(detail.log, event.data.log),
          },
        });
      }
      return true;
    },
  })),
);

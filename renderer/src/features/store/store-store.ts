import { create } from 'zustand';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { asApiError, call, type ApiError } from '../../api/client.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';

export type AppSummary = RouteOutput<'listApps'>[number];

interface StoreState {
  apps: AppSummary[] | null;
  error: ApiError | null;
  search: string;
  /** null: every category. */
  category: string | null;
  load(): Promise<void>;
  setSearch(search: string): void;
  setCategory(category: string | null): void;
}

/** The app store's catalog and what the grid is narrowed to; reloaded on app events. */
export const useStore = forgetOnSignOut(
  create<StoreState>((set) => ({
    apps: null,
    error: null,
    search: '',
    category: null,
    async load() {
      try {
        set({ apps: await call('listApps', { query: {} }), error: null });
      } catch (error) {
        set({ error: asApiError(error) });
      }
    },
    setSearch(search) {
      set({ search });
    },
    setCategory(category) {
      set({ category });
    },
  })),
);

/** Every category of the catalog, sorted. */
export function categoriesOf(apps: readonly AppSummary[]): string[] {
  return [...new Set(apps.flatMap((app) => app.categories))].sort();
}

/** The apps in `category` whose title, summary, publisher or categories contain every word searched. */
export function visibleApps(
  apps: readonly AppSummary[],
  search: string,
  category: string | null,
): AppSummary[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  return apps
    .filter((app) => category === null || app.categories.includes(category))
    .filter((app) => {
      const text = [app.title, app.summary, app.publisher ?? '', app.id, ...app.categories]
        .join(' ')
        .toLowerCase();
      return words.every((word) => text.includes(word));
    })
    .sort((a, b) => a.title.localeCompare(b.title));
}

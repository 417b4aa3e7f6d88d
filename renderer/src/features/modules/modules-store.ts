import { create } from 'zustand';
import { asApiError, call, type ApiError } from '../../api/client.ts';
import { forgetOnSignOut } from '../../api/user-data.ts';
import { ancestorsOf, type ModuleSummary } from './module-tree.ts';

interface ModulesState {
  /** Every module you may view (latest versions), null until the first answer. */
  modules: ModuleSummary[] | null;
  error: ApiError | null;
  /** Paths of the tree's open folders. */
  expanded: ReadonlySet<string>;
  loadTree(): Promise<void>;
  setExpanded(path: string, isOpen: boolean): void;
  /** Opens `path` and every folder above it, so the module and what it holds show in the tree. */
  reveal(path: string): void;
}

/** The Modules workspace's tree, reloaded on module events. */
export const useModules = forgetOnSignOut(
  create<ModulesState>((set) => ({
    modules: null,
    error: null,
    expanded: new Set(),
    async loadTree() {
      try {
        set({ modules: await call('listModules', { query: {} }), error: null });
      } catch (error) {
        set({ error: asApiError(error) });
      }
    },
    setExpanded(path, isOpen) {
      set((state) => {
        if (state.expanded.has(path) === isOpen) return {};
        const expanded = new Set(state.expanded);
        if (isOpen) expanded.add(path);
        else expanded.delete(path);
        return { expanded };
      });
    },
    reveal(path) {
      set((state) => {
        const missing = [path, ...ancestorsOf(path)].filter(
          (folder) => !state.expanded.has(folder),
        );
        return missing.length === 0 ? {} : { expanded: new Set([...state.expanded, ...missing]) };
      });
    },
  })),
);

import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';

export type ModuleSummary = RouteOutput<'listModules'>[number];

/** A module in the tree with the modules it holds. */
export interface TreeNode {
  path: string;
  /** The last segment of the path. */
  name: string;
  module: ModuleSummary;
  children: TreeNode[];
}

/** One line of the tree as shown: a node at its depth, with its parent for ArrowLeft. */
export interface TreeRow {
  node: TreeNode;
  depth: number;
  parent: string | null;
  isExpanded: boolean;
}

const kindOrder = { project: 0, deployment: 1, image: 2 } as const;

/** The path of the folder holding `path` (null at the top). */
export function parentPath(path: string): string | null {
  const cut = path.lastIndexOf('/');
  return cut > 0 ? path.slice(0, cut) : null;
}

/**
 * The module list as a tree. A module whose project you may not view hangs under its nearest
 * ancestor you may view, or at the top. Projects come first in each folder, then by name.
 */
export function buildTree(modules: readonly ModuleSummary[]): TreeNode[] {
  const byPath = new Map<string, TreeNode>();
  const sorted = [...modules].sort(
    (a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path),
  );
  const roots: TreeNode[] = [];
  for (const module of sorted) {
    const node: TreeNode = {
      path: module.path,
      name: module.path.slice(module.path.lastIndexOf('/') + 1),
      module,
      children: [],
    };
    byPath.set(module.path, node);
    let ancestor = parentPath(module.path);
    while (ancestor !== null && !byPath.has(ancestor)) ancestor = parentPath(ancestor);
    (ancestor === null ? roots : byPath.get(ancestor)!.children).push(node);
  }
  const order = (nodes: TreeNode[]): TreeNode[] => {
    nodes.sort(
      (a, b) => kindOrder[a.module.kind] - kindOrder[b.module.kind] || a.name.localeCompare(b.name),
    );
    for (const node of nodes) order(node.children);
    return nodes;
  };
  return order(roots);
}

/** The rows a reader sees: children only under expanded nodes. */
export function visibleRows(tree: readonly TreeNode[], expanded: ReadonlySet<string>): TreeRow[] {
  const rows: TreeRow[] = [];
  const walk = (nodes: readonly TreeNode[], depth: number, parent: string | null): void => {
    for (const node of nodes) {
      const isExpanded = node.children.length > 0 && expanded.has(node.path);
      rows.push({ node, depth, parent, isExpanded });
      if (isExpanded) walk(node.children, depth + 1, node.path);
    }
  };
  walk(tree, 0, null);
  return rows;
}

/** Every ancestor of `path` that is in the tree, so that opening a module shows where it is. */
export function ancestorsOf(path: string): string[] {
  const found: string[] = [];
  for (let ancestor = parentPath(path); ancestor !== null; ancestor = parentPath(ancestor))
    found.push(ancestor);
  return found;
}

/** What a key does in the tree (WAI-ARIA tree view): move the focus, or expand or collapse. */
export type TreeMove = { focus: string } | { expand: string } | { collapse: string } | null;

/** The effect of `key` pressed on the row of `current`. */
export function treeKeyMove(rows: readonly TreeRow[], current: string, key: string): TreeMove {
  const index = rows.findIndex((row) => row.node.path === current);
  if (index < 0) return rows[0] ? { focus: rows[0].node.path } : null;
  const row = rows[index]!;
  switch (key) {
    case 'ArrowDown':
      return index + 1 < rows.length ? { focus: rows[index + 1]!.node.path } : null;
    case 'ArrowUp':
      return index > 0 ? { focus: rows[index - 1]!.node.path } : null;
    case 'Home':
      return { focus: rows[0]!.node.path };
    case 'End':
      return { focus: rows.at(-1)!.node.path };
    case 'ArrowRight':
      if (row.node.children.length === 0) return null;
      return row.isExpanded ? { focus: row.node.children[0]!.path } : { expand: row.node.path };
    case 'ArrowLeft':
      if (row.isExpanded) return { collapse: row.node.path };
      return row.parent !== null ? { focus: row.parent } : null;
    default:
      return null;
  }
}

/** The project a new module goes into from the selected one: itself if a project, else its project. */
export function projectFor(selected: ModuleSummary | undefined): string | null {
  if (!selected) return null;
  return selected.kind === 'project' ? selected.path : parentPath(selected.path);
}

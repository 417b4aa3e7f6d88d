import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router';
import { buildTree, treeKeyMove, visibleRows, type ModuleSummary } from './module-tree.ts';
import { useModules } from './modules-store.ts';
import { modulePageUrl } from './module-urls.ts';

const kindMark = { project: 'P', image: 'I', deployment: 'D' } as const;

/**
 * The project tree as a WAI-ARIA tree view: one tab stop; arrows move and open or close
 * folders, Home and End jump, Enter opens the module. A click opens too.
 */
export function ModuleTree({
  modules,
  selected,
}: {
  modules: readonly ModuleSummary[];
  selected: string | null;
}) {
  const expanded = useModules((state) => state.expanded);
  const setExpanded = useModules((state) => state.setExpanded);
  const navigate = useNavigate();
  const tree = useMemo(() => buildTree(modules), [modules]);
  const rows = useMemo(() => visibleRows(tree, expanded), [tree, expanded]);
  const [focused, setFocused] = useState<string | null>(null);
  const items = useRef(new Map<string, HTMLLIElement>());
  const isKeyboardMove = useRef(false);
  // The tab stop: the focused row, else the open module, else the first row.
  const tabStop =
    rows.find((row) => row.node.path === focused)?.node.path ??
    rows.find((row) => row.node.path === selected)?.node.path ??
    rows[0]?.node.path;

  useEffect(() => {
    if (isKeyboardMove.current && focused) items.current.get(focused)?.focus();
    isKeyboardMove.current = false;
  }, [focused]);

  function onKeyDown(event: KeyboardEvent<HTMLUListElement>) {
    if (!tabStop) return;
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      navigate(modulePageUrl(tabStop));
      return;
    }
    const move = treeKeyMove(rows, tabStop, event.key);
    if (!move) return;
    event.preventDefault();
    if ('focus' in move) {
      isKeyboardMove.current = true;
      setFocused(move.focus);
    } else if ('expand' in move) setExpanded(move.expand, true);
    else setExpanded(move.collapse, false);
  }

  if (rows.length === 0) return <p className="muted">No modules yet: create a project.</p>;
  return (
    <ul className="module-tree" role="tree" aria-label="Modules" onKeyDown={onKeyDown}>
      {rows.map((row) => {
        const { node } = row;
        const hasChildren = node.children.length > 0;
        return (
          <li
            key={node.path}
            ref={(element) => {
              if (element) items.current.set(node.path, element);
              else items.current.delete(node.path);
            }}
            role="treeitem"
            aria-level={row.depth + 1}
            aria-expanded={hasChildren ? row.isExpanded : undefined}
            aria-selected={node.path === selected}
            aria-label={`${node.name}, ${node.module.kind}`}
            tabIndex={node.path === tabStop ? 0 : -1}
            className={node.path === selected ? 'tree-row selected' : 'tree-row'}
            style={{ paddingLeft: `${0.5 + row.depth * 1.1}rem` }}
            onFocus={() => setFocused(node.path)}
            onClick={() => navigate(modulePageUrl(node.path))}
          >
            <span
              className={hasChildren ? 'twisty' : 'twisty leaf'}
              aria-hidden="true"
              onClick={(event) => {
                if (!hasChildren) return;
                event.stopPropagation();
                setExpanded(node.path, !row.isExpanded);
              }}
            >
              {hasChildren ? (row.isExpanded ? '▾' : '▸') : ''}
            </span>
            <span className={`kind-mark kind-${node.module.kind}`} aria-hidden="true">
              {kindMark[node.module.kind]}
            </span>
            <span className="tree-name">{node.name}</span>
            <span className="tree-version">v{node.module.latestVersion}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** The workspace page of a module: `/modules` followed by its path. */
export function modulePageUrl(
  path: string,
  view?: 'history' | 'publish' | 'sharing' | 'yaml',
): string {
  return `/modules${path}${view ? `?view=${view}` : ''}`;
}

/** The module path a workspace URL names (the part after `/modules`), or null for the workspace itself. */
export function pathFromSplat(splat: string | undefined): string | null {
  const trimmed = (splat ?? '').replace(/\/+$/, '');
  return trimmed === '' ? null : `/${trimmed}`;
}

import { parseReference, type ModuleContent } from './modules.ts';

/**
 * What binds an app to its publisher: the app ids a trusted key may sign for, the folder an app's
 * modules live in, and the order of its versions. Pure rules, shared by the install and the
 * start-up migration (and by any screen that wants to say why a bundle would be refused).
 */

/** An app id: lowercase letters, digits and "-", starting with a letter. */
export const appIdPattern = /^[a-z][a-z0-9-]{1,63}$/;

/**
 * What a trusted key signs for, one pattern each: an app id (`acme-crm`), a prefix ending in `*`
 * (`acme-*`), or `*` alone for every app id (the box's own key, which signs the catalog it ships
 * and its exports).
 */
export const appIdsPattern = /^(\*|[a-z][a-z0-9-]{0,62}\*|[a-z][a-z0-9-]{1,63})$/;

/** Does a key trusted for `patterns` sign for the app `id`? */
export function signsFor(patterns: readonly string[], id: string): boolean {
  return patterns.some((pattern) => (pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern));
}

/** The folder of an app's modules: `/apps/<id>`, itself a project, and everything under it. */
export function appFolder(id: string): string {
  return `/apps/${id}`;
}

function inFolder(id: string, path: string): boolean {
  return path === appFolder(id) || path.startsWith(`${appFolder(id)}/`);
}

/** Where a module of a bundle for app `id` steps outside the app's folder; empty when it does not. */
export function outsideAppFolder(id: string, modules: ReadonlyMap<string, ModuleContent>): { module: string; field: string; message: string }[] {
  const problems: { module: string; field: string; message: string }[] = [];
  const folder = appFolder(id);
  for (const [path, content] of modules) {
    if (!inFolder(id, path)) {
      problems.push({ module: path, field: 'path', message: `${path} is outside the app's folder ${folder}; a bundle for ${id} may only hold modules under ${folder}/ (the box makes /apps itself)` });
      continue;
    }
    if (path === folder && content.kind !== 'project') problems.push({ module: path, field: 'content.kind', message: `${folder} is the app's folder, a project; the app's images and deployments go under it` });
    const references = content.kind === 'image' ? [{ field: 'content.parent', reference: content.parent }] : content.kind === 'deployment' ? content.nodes.map((node, index) => ({ field: `content.nodes.${index}.image`, reference: node.image })) : [];
    for (const { field, reference } of references) {
      if (reference === null) continue;
      // A reference that does not parse is refused later by the module checks, with its own words.
      let target: string;
      try {
        target = parseReference(reference).path;
      } catch {
        continue;
      }
      if (!inFolder(id, target)) problems.push({ module: path, field, message: `${path} names ${reference}, outside the app's folder ${folder}; a bundle's modules may only name modules under ${folder}/` });
    }
  }
  return problems;
}

/** A version `major.minor.patch` as three numbers (bundles' manifests allow nothing else). */
function parts(version: string): number[] {
  return version.split('.').map((part) => Number(part));
}

/** Orders versions by number, so 1.10.0 comes after 1.9.0: negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
  const [left, right] = [parts(a), parts(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * The newest of an app's versions: the highest version number, whatever the order they were
 * installed in (a downgrade an administrator allowed is installed, but never the newest). The
 * one rule for "latest": the store's list and page, pre-flight, deploy and export all use it.
 */
export function newestVersion<T extends { version: string }>(versions: readonly T[]): T | undefined {
  let newest: T | undefined;
  for (const candidate of versions) if (newest === undefined || compareVersions(candidate.version, newest.version) > 0) newest = candidate;
  return newest;
}

/** The next version an app published from a module gets: the next major version after the newest. */
export function nextMajorVersion(versions: readonly { version: string }[]): string {
  const newest = newestVersion(versions);
  return `${newest ? (parts(newest.version)[0] ?? 0) + 1 : 1}.0.0`;
}

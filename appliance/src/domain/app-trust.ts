import { parseReference } from './module-references.ts';
import type { ModuleContent } from './modules.ts';

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
  return patterns.some((pattern) =>
    pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern,
  );
}

/** The folder of an app's modules: `/apps/<id>`, itself a project, and everything under it. */
export function appFolder(id: string): string {
  return `/apps/${id}`;
}

function inFolder(id: string, path: string): boolean {
  return path === appFolder(id) || path.startsWith(`${appFolder(id)}/`);
}

/** Where a module of a bundle for app `id` steps outside the app's folder; empty when it does not. */
export function outsideAppFolder(
  id: string,
  modules: ReadonlyMap<string, ModuleContent>,
): { module: string; field: string; message: string }[] {
  const problems: { module: string; field: string; message: string }[] = [];
  const folder = appFolder(id);
  for (const [path, content] of modules) {
    if (!inFolder(id, path)) {
      problems.push({
        module: path,
        field: 'path',
        message: `${path} is outside the app's folder ${folder}; a bundle for ${id} may only hold modules under ${folder}/ (the box makes /apps itself)`,
      });
      continue;
    }
    if (path === folder && content.kind !== 'project')
      problems.push({
        module: path,
        field: 'content.kind',
        message: `${folder} is the app's folder, a project; the app's images and deployments go under it`,
      });
    const references =
      content.kind === 'image'
        ? [{ field: 'content.parent', reference: content.parent }]
        : content.kind === 'deployment'
          ? content.nodes.map((node, index) => ({
              field: `content.nodes.${index}.image`,
              reference: node.image,
            }))
          : [];
    for (const { field, reference } of references) {
      if (reference === null) continue;
      // A reference that does not parse is refused later by the module checks, with its own words.
      let target: string;
      try {
        target = parseReference(reference).path;
      } catch {
        continue;
      }
      if (!inFolder(id, target))
        problems.push({
          module: path,
          field,
          message: `${path} names ${reference}, outside the app's folder ${folder}; a bundle's modules may only name modules under ${folder}/`,
        });
    }
  }
  return problems;
}

/**
 * The modules an export of app `id` ships, from the versions its latest version pins (the first
 * is the module it deploys): those in the app's folder, with their references to each other made
 * floating. This box's `@N` mean nothing on the importing box, which pins floating references to
 * the versions it installs. `problems` says why the export could not install as it runs here: the
 * deployed module outside the app's folder, a reference to a module the bundle does not ship (or
 * ships at another version), one path pinned at two versions.
 */
export function exportedModules(
  id: string,
  pinned: readonly { path: string; version: number; content: ModuleContent }[],
): { modules: { path: string; content: ModuleContent }[]; problems: string[] } {
  const folder = appFolder(id);
  const problems: string[] = [];
  const top = pinned[0];
  if (top && !inFolder(id, top.path))
    problems.push(
      `${top.path}, the module the app deploys, is outside the app's folder ${folder}; only an app whose modules are under ${folder}/ can be exported (publish one from there)`,
    );
  const shipped = pinned.filter((module) => inFolder(id, module.path));
  const versionOf = new Map<string, number>();
  for (const module of shipped) {
    const known = versionOf.get(module.path);
    if (known !== undefined && known !== module.version)
      problems.push(
        `the app pins ${module.path} at versions ${known} and ${module.version}; a bundle holds one version of each module`,
      );
    versionOf.set(module.path, module.version);
  }
  const floating = (path: string, field: string, reference: string | null): string | null => {
    if (reference === null) return null;
    let target: { path: string; version: number | null };
    try {
      target = parseReference(reference);
    } catch {
      problems.push(`${path} ${field} names "${reference}", which is not a module reference`);
      return reference;
    }
    const version = versionOf.get(target.path);
    if (version === undefined)
      problems.push(
        `${path} ${field} names ${reference}, which the bundle does not ship (it ships only modules under ${folder}/)`,
      );
    else if (target.version !== null && target.version !== version)
      problems.push(
        `${path} ${field} names ${reference}, but the bundle ships ${target.path}@${version}`,
      );
    return version === undefined ? reference : target.path;
  };
  const modules = shipped
    .filter((module, index) => shipped.findIndex((other) => other.path === module.path) === index)
    .map(({ path, content }) => {
      if (content.kind === 'image')
        return { path, content: { ...content, parent: floating(path, 'parent', content.parent) } };
      if (content.kind === 'deployment')
        return {
          path,
          content: {
            ...content,
            nodes: content.nodes.map((node) => ({
              ...node,
              image: floating(path, `node ${node.name} image`, node.image)!,
            })),
          },
        };
      return { path, content };
    });
  return { modules, problems };
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
export function newestVersion<T extends { version: string }>(
  versions: readonly T[],
): T | undefined {
  let newest: T | undefined;
  for (const candidate of versions)
    if (newest === undefined || compareVersions(candidate.version, newest.version) > 0)
      newest = candidate;
  return newest;
}

/** The next version an app published from a module gets: the next major version after the newest. */
export function nextMajorVersion(versions: readonly { version: string }[]): string {
  const newest = newestVersion(versions);
  return `${newest ? (parts(newest.version)[0] ?? 0) + 1 : 1}.0.0`;
}

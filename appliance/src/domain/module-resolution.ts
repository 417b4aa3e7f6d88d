/**
 * Following references to images: an image merged with its parent chain, and the node an image
 * runs as when it is deployed on its own.
 */
import {
  formatReference,
  ModuleError,
  parseReference,
  type ModuleLookup,
} from './module-references.ts';
import {
  defaultResources,
  type DeploymentNode,
  type ImageContent,
  type NativeImages,
  type RecipeName,
  type ResolvedImage,
  type Resources,
} from './modules.ts';

/**
 * Merges an image with its ancestors: parameters, recipes, resources, ports and native images of
 * the child win over the parent's by name; a cycle or a missing or non-image parent is refused.
 */
export function resolveImage(
  reference: string,
  lookup: ModuleLookup,
  field = 'image',
): ResolvedImage {
  const chain: { label: string; content: ImageContent }[] = [];
  const seen = new Set<string>();
  let next: string | null = reference;
  while (next !== null) {
    const parsed = parseReference(next, field);
    const found = lookup(parsed.path, parsed.version);
    if (!found) throw new ModuleError(`No module ${formatReference(parsed)}.`, field);
    if (found.content.kind !== 'image')
      throw new ModuleError(`${parsed.path} is a ${found.content.kind}, not an image.`, field);
    if (seen.has(parsed.path)) {
      throw new ModuleError(
        `Image inheritance loops: ${[...chain.map((link) => link.label), parsed.path].join(' → ')}.`,
        field,
      );
    }
    seen.add(parsed.path);
    chain.push({ label: `${parsed.path}@${found.version}`, content: found.content });
    next = found.content.parent;
  }
  const fromRoot = [...chain].reverse().map((link) => link.content);
  const byName = <T extends { name: string }>(lists: T[][]): T[] => [
    ...new Map(lists.flat().map((item) => [item.name, item])).values(),
  ];
  return {
    chain: chain.map((link) => link.label),
    nativeImages: Object.assign({}, ...fromRoot.map((image) => image.nativeImages)) as NativeImages,
    resources: Object.assign(
      { ...defaultResources },
      ...fromRoot.map((image) => image.resources ?? {}),
    ) as Resources,
    packages: [...new Set(fromRoot.flatMap((image) => image.packages ?? []))],
    recipes: Object.assign({}, ...fromRoot.map((image) => image.recipes)) as Partial<
      Record<RecipeName, string>
    >,
    inputs: byName(fromRoot.map((image) => image.inputs)),
    outputs: byName(fromRoot.map((image) => image.outputs)),
    ports: byName(fromRoot.map((image) => image.ports)),
  };
}

/**
 * The node an image runs as when it is deployed on its own: one instance, on the box, named after
 * the last segment of its path. Runs and the app store's deploy form name its inputs by it.
 */
export function imageNode(path: string, version: number): DeploymentNode {
  const last = (path.split('/').at(-1) ?? 'node')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^[^a-z]+/, '');
  return {
    name: last.slice(0, 32) || 'node',
    image: `${path}@${version}`,
    multiplicity: 1,
    cloud: null,
    maxFailures: 0,
    mappings: {},
  };
}

import { isValidPath, isValidSegment } from '../../../../appliance/src/domain/module-references.ts';
import type {
  DeploymentContent,
  ImageContent,
  ModuleContent,
  ModuleKind,
} from '../../../../appliance/src/domain/modules.ts';

/** What a new module starts from, before its first save. */
export function blankContent(kind: ModuleKind): ModuleContent {
  switch (kind) {
    case 'project':
      return { kind: 'project' };
    case 'image':
      return {
        kind: 'image',
        parent: null,
        nativeImages: {},
        recipes: {},
        inputs: [],
        outputs: [],
        ports: [],
      };
    case 'deployment':
      return { kind: 'deployment', nodes: [] };
  }
}

/**
 * A module document as the API answered it, with the lists and maps the editors expect (the
 * schema fills them in on save, so an older document may lack them).
 */
export function editable(content: ModuleContent): ModuleContent {
  if (content.kind === 'image') {
    return {
      ...content,
      parent: content.parent ?? null,
      nativeImages: content.nativeImages ?? {},
      recipes: content.recipes ?? {},
      inputs: content.inputs ?? [],
      outputs: content.outputs ?? [],
      ports: content.ports ?? [],
    };
  }
  if (content.kind === 'deployment') {
    return {
      ...content,
      nodes: (content.nodes ?? []).map((node) => ({
        ...node,
        multiplicity: node.multiplicity ?? 1,
        cloud: node.cloud ?? null,
        maxFailures: node.maxFailures ?? 0,
        mappings: node.mappings ?? {},
      })),
    };
  }
  return content;
}

const text = (value: string | undefined): string | undefined => (value?.trim() ? value : undefined);

/**
 * The document to save: empty optional fields left out (an empty description, recipe, package
 * list or resource), so a version says only what it sets and a child image inherits the rest.
 */
export function forSave(content: ModuleContent): ModuleContent {
  const description = text(content.description);
  if (content.kind === 'project')
    return { kind: 'project', ...(description ? { description } : {}) };
  if (content.kind === 'deployment') return cleanDeployment(content, description);
  return cleanImage(content, description);
}

function cleanImage(content: ImageContent, description: string | undefined): ImageContent {
  const recipes = Object.fromEntries(
    Object.entries(content.recipes).filter(([, script]) => script?.trim()),
  ) as ImageContent['recipes'];
  const resources = Object.fromEntries(
    Object.entries(content.resources ?? {}).filter(
      ([, value]) => value !== undefined && Number.isFinite(value),
    ),
  );
  const packages = (content.packages ?? []).filter(Boolean);
  return {
    kind: 'image',
    ...(description ? { description } : {}),
    parent: text(content.parent ?? undefined)?.trim() ?? null,
    nativeImages: Object.fromEntries(
      Object.entries(content.nativeImages).filter(([, native]) => native.imageId.trim()),
    ),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
    ...(packages.length > 0 ? { packages } : {}),
    recipes,
    inputs: content.inputs.map(({ description: about, options, ...input }) => ({
      ...input,
      ...(text(about) ? { description: about } : {}),
      ...(input.type === 'enum' && options?.length ? { options } : {}),
    })),
    outputs: content.outputs.map(({ description: about, ...output }) => ({
      ...output,
      ...(text(about) ? { description: about } : {}),
    })),
    ports: content.ports,
  };
}

function cleanDeployment(
  content: DeploymentContent,
  description: string | undefined,
): DeploymentContent {
  return {
    kind: 'deployment',
    ...(description ? { description } : {}),
    nodes: content.nodes.map((node) => ({ ...node, image: node.image.trim() })),
  };
}

/** Words separated by commas or spaces (packages, enum options, categories), empty ones dropped. */
export function splitList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((word) => word.trim())
    .filter(Boolean);
}

/** A whole number typed in a field, or undefined when the field is empty or not a number. */
export function wholeNumber(value: string): number | undefined {
  if (value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** The path of a new module `name` in `project` (null: at the top), or the problem with the name. */
export function newModulePath(
  project: string | null,
  name: string,
): { path: string } | { problem: string } {
  if (!isValidSegment(name))
    return {
      problem:
        'Use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (at most 64).',
    };
  const path = `${project ?? ''}/${name}`;
  return isValidPath(path) ? { path } : { problem: 'Modules nest at most 16 levels deep.' };
}

/** An app id suggested from a module path: its last segment, as the store's ids are written. */
export function suggestedAppId(path: string): string {
  const base = path
    .slice(path.lastIndexOf('/') + 1)
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64);
  return base.length >= 2 ? base : `app-${base}`.replace(/-$/, '');
}

import {
  formatReference,
  ModuleError,
  parseReference,
  type ModuleLookup,
} from '../../../../appliance/src/domain/module-references.ts';
import { resolveImage } from '../../../../appliance/src/domain/module-resolution.ts';
import {
  validateDeployment,
  type Problem,
} from '../../../../appliance/src/domain/module-validation.ts';
import type {
  DeploymentContent,
  InputParameter,
  Mapping,
  ModuleContent,
  ResolvedImage,
} from '../../../../appliance/src/domain/modules.ts';

/**
 * Module versions fetched so far, by the reference they were asked with (`/a/b` for the latest,
 * `/a/b@3` pinned); null when the box answered that there is none. The deployment editor checks
 * a draft with the same pure rules the box applies on save, over what is in here.
 */
export type LoadedModules = ReadonlyMap<string, { version: number; content: ModuleContent } | null>;

/** A lookup over the loaded versions; a reference not loaded yet is reported as missing. */
export function lookupFrom(loaded: LoadedModules): ModuleLookup {
  return (path, version) => loaded.get(formatReference({ path, version })) ?? null;
}

/**
 * The references the check still needs: each node's image and, through the parents already
 * loaded, the rest of its chain. Text that is not a reference yet (being typed) is skipped: the
 * check reports it as it is.
 */
export function missingReferences(content: DeploymentContent, loaded: LoadedModules): string[] {
  const missing = new Set<string>();
  for (const node of content.nodes) {
    const seen = new Set<string>();
    let next: string | null = node.image.trim();
    while (next && !seen.has(next)) {
      seen.add(next);
      try {
        parseReference(next);
      } catch {
        break;
      }
      if (!loaded.has(next)) {
        missing.add(next);
        break;
      }
      const found = loaded.get(next);
      next = found?.content.kind === 'image' ? found.content.parent : null;
    }
  }
  return [...missing];
}

/** Problems of the draft as the box would find them on save (given every reference is loaded). */
export function checkDeployment(content: DeploymentContent, loaded: LoadedModules): Problem[] {
  return validateDeployment(content, lookupFrom(loaded));
}

/** Each node's image with its parents merged, or the reason it cannot be resolved. */
export function resolveNodes(
  content: DeploymentContent,
  loaded: LoadedModules,
): (ResolvedImage | string)[] {
  const lookup = lookupFrom(loaded);
  return content.nodes.map((node) => {
    try {
      return resolveImage(node.image.trim(), lookup);
    } catch (error) {
      if (error instanceof ModuleError) return error.message;
      throw error;
    }
  });
}

/** Problems grouped by field (`nodes.0.mappings.port`), for showing each beside its control. */
export function problemsByField(problems: readonly Problem[]): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const problem of problems)
    fields.set(problem.field, [...(fields.get(problem.field) ?? []), problem.message]);
  return fields;
}

/** A mapping's source as the editor offers it. */
export type MappingChoice = 'default' | 'value' | 'output';

export function choiceOf(mapping: Mapping | undefined): MappingChoice {
  if (!mapping) return 'default';
  return 'output' in mapping ? 'output' : 'value';
}

/** The outputs of the other nodes, as `node:output`, that an input can be mapped to. */
export function outputChoices(
  content: DeploymentContent,
  images: readonly (ResolvedImage | string)[],
  forNode: number,
): string[] {
  return content.nodes.flatMap((node, index) => {
    const image = images[index];
    if (index === forNode || image === undefined || typeof image === 'string') return [];
    return image.outputs.map((output) => `${node.name}:${output.name}`);
  });
}

/** An input's line in the mapping table: what it is and what it is mapped to. */
export interface InputRow {
  name: string;
  input: InputParameter | null;
  mapping: Mapping | undefined;
}

/** The inputs of a node's image, then mappings naming inputs the image does not have (to remove them). */
export function inputRows(
  image: ResolvedImage | string | undefined,
  mappings: Record<string, Mapping>,
): InputRow[] {
  const inputs = image === undefined || typeof image === 'string' ? [] : image.inputs;
  const known = new Set(inputs.map((input) => input.name));
  return [
    ...inputs.map((input) => ({ name: input.name, input, mapping: mappings[input.name] })),
    ...Object.entries(mappings)
      .filter(([name]) => !known.has(name))
      .map(([name, mapping]) => ({ name, input: null, mapping })),
  ];
}

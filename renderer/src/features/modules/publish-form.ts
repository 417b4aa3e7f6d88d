import type { FormField } from '../../../../appliance/src/catalog/manifest.ts';
import {
  imageNode,
  type DeploymentContent,
  type InputParameter,
  type ModuleContent,
  type ResolvedImage,
} from '../../../../appliance/src/domain/modules.ts';

/** An input a published app's deploy form may ask for: `node:input`, with what it has now. */
export interface FormCandidate {
  key: string;
  input: InputParameter;
  /** The value it gets when the form does not ask: the mapped value or the default. */
  current: string | undefined;
}

/** The nodes a version deploys: a deployment's own, or an image as the one node it runs as. */
export function deployedNodes(
  path: string,
  version: number,
  content: ModuleContent,
): DeploymentContent {
  if (content.kind === 'deployment') return content;
  return { kind: 'deployment', nodes: content.kind === 'image' ? [imageNode(path, version)] : [] };
}

/**
 * Every input the deploy form could ask for, node by node: inputs wired to another node's output
 * are left out (the run fills them in), the others keep their value or default as the field's.
 */
export function formCandidates(
  content: DeploymentContent,
  images: readonly (ResolvedImage | string)[],
): FormCandidate[] {
  return content.nodes.flatMap((node, index) => {
    const image = images[index];
    if (image === undefined || typeof image === 'string') return [];
    return image.inputs
      .filter((input) => {
        const mapping = node.mappings[input.name];
        return !(mapping && 'output' in mapping);
      })
      .map((input) => {
        const mapping = node.mappings[input.name];
        return {
          key: `${node.name}:${input.name}`,
          input,
          current: mapping && 'value' in mapping ? mapping.value : input.default,
        };
      });
  });
}

/** A label from an input's name: `admin_password` → "Admin password". */
export function labelFor(name: string): string {
  const words = name
    .replace(/[_.-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  return (words.charAt(0).toUpperCase() + words.slice(1)).slice(0, 100);
}

/**
 * The deploy form's fields for the inputs asked (by key, with their labels): typed as the input,
 * its value as the default, required when it has none (a password without one is generated).
 */
export function formFields(
  candidates: readonly FormCandidate[],
  asked: Readonly<Record<string, string>>,
): FormField[] {
  return candidates
    .filter((candidate) => candidate.key in asked)
    .map(({ key, input, current }) => ({
      key,
      label: asked[key]!.trim() || labelFor(input.name),
      type: input.type,
      ...(input.description ? { help: input.description.slice(0, 500) } : {}),
      ...(current !== undefined ? { default: current } : {}),
      ...(input.type === 'enum' && input.options?.length ? { options: input.options } : {}),
      required: current === undefined,
      generate: input.type === 'password' && current === undefined,
      sets: 'input' as const,
    }));
}

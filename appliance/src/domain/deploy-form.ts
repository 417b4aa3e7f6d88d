/**
 * The deploy form of an app published from a module version: which inputs it may ask for and
 * which it must. Pure: the caller hands in the resolved images. The Modules page builds the form
 * with these rules and the box checks a publish with them, so the two cannot disagree.
 */
import { imageNode, type DeploymentContent, type InputParameter, type ModuleContent, type ResolvedImage } from './modules.ts';

/** An input a published app's deploy form may ask for: `node:input`, with what it has now. */
export interface FormCandidate {
  key: string;
  input: InputParameter;
  /** The value it gets when the form does not ask: the mapped value or the default. */
  current: string | undefined;
}

/** The nodes a version deploys: a deployment's own, or an image as the one node it runs as. */
export function deployedNodes(path: string, version: number, content: ModuleContent): DeploymentContent {
  if (content.kind === 'deployment') return content;
  return { kind: 'deployment', nodes: content.kind === 'image' ? [imageNode(path, version)] : [] };
}

/**
 * Every input the deploy form could ask for, node by node (`images` in the nodes' order; a
 * string is an image that did not resolve): inputs wired to another node's output are left out
 * (the run fills them in), the others keep their value or default as the field's.
 */
export function formCandidates(content: DeploymentContent, images: readonly (ResolvedImage | string)[]): FormCandidate[] {
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
        return { key: `${node.name}:${input.name}`, input, current: mapping && 'value' in mapping ? mapping.value : input.default };
      });
  });
}

/**
 * The inputs (`node:input`) that have no value from a default or a mapping and that the form's
 * fields (`asked`: the keys of the fields setting an input) leave out: a run could not start
 * without them, so a deploy form must ask for every one.
 */
export function unaskedInputs(candidates: readonly FormCandidate[], asked: readonly string[]): string[] {
  const keys = new Set(asked);
  return candidates.filter((candidate) => candidate.current === undefined && !keys.has(candidate.key)).map((candidate) => candidate.key);
}

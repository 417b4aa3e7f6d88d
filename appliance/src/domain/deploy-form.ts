/**
 * The deploy form of an app published from a module version: which inputs it may ask for and
 * which it must. Pure: the caller hands in the resolved images. The Modules page builds the form
 * with these rules and the box checks a publish with them, so the two cannot disagree.
 */
import { imageNode } from './module-resolution.ts';
import type { DeploymentContent, InputParameter, ModuleContent, ResolvedImage } from './modules.ts';

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
 * Every input the deploy form could ask for, node by node (`images` in the nodes' order; a
 * string is an image that did not resolve): inputs wired to another node's output are left out
 * (the run fills them in), the others keep their value or default as the field's.
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

/**
 * The inputs (`node:input`) that have no value from a default or a mapping and that the form's
 * fields (`asked`: the keys of the fields setting an input) leave out: a run could not start
 * without them, so a deploy form must ask for every one.
 */
export function unaskedInputs(
  candidates: readonly FormCandidate[],
  asked: readonly string[],
): string[] {
  const keys = new Set(asked);
  return candidates
    .filter((candidate) => candidate.current === undefined && !keys.has(candidate.key))
    .map((candidate) => candidate.key);
}

/** What the rules below need of a deploy form's field. */
export interface FormFieldShape {
  key: string;
  type: string;
  sets: 'input' | 'multiplicity';
  default?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
  generate?: boolean | undefined;
  options?: readonly string[] | undefined;
}

/** The most instances a node may have (as a deployment's own multiplicity). */
const maxInstances = 64;

/** The node a field belongs to: `web` of `web:instances`. */
export const fieldNode = (field: { key: string }): string =>
  field.key.slice(0, field.key.indexOf(':'));

/** The instance counts a count field allows, and how to say so. */
function countBounds(field: FormFieldShape): {
  low: number;
  high: number;
  within(text: string | number): boolean;
  message: string;
} {
  const low = field.min ?? 0;
  const high = field.max ?? maxInstances;
  return {
    low,
    high,
    within: (value) =>
      (typeof value === 'number' || /^\d+$/.test(value)) &&
      Number.isInteger(Number(value)) &&
      Number(value) >= low &&
      Number(value) <= high,
    message: `must be a whole number from ${low} to ${high}`,
  };
}

/**
 * What is wrong with a deploy form and its per-node cloud choices for the nodes a version deploys
 * (`field` is where, as the publish request names it): every input field asks for an input the
 * form may ask for, once; an instance-count field names a node, is a number, and its bounds and
 * default are whole numbers from 0 to 64 in order; cloud choices name nodes.
 */
export function formProblems(
  content: DeploymentContent,
  candidates: readonly FormCandidate[],
  form: readonly FormFieldShape[],
  clouds: Readonly<Record<string, string>>,
): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  const nodes = content.nodes.map((node) => node.name);
  const notANode = (name: string) =>
    `${name} is not a node of this version; its nodes: ${nodes.join(', ') || 'none'}`;
  const askable = new Set(candidates.map((candidate) => candidate.key));
  const seen = new Set<string>();
  const counted = new Set<string>();
  form.forEach((field, index) => {
    const at = `form.${index}`;
    const repeated = seen.has(field.key);
    if (repeated) problems.push({ field: `${at}.key`, message: `${field.key} is asked twice` });
    seen.add(field.key);
    if (field.sets === 'input') {
      if (!askable.has(field.key))
        problems.push({
          field: `${at}.key`,
          message: `${field.key} is not an input this version's form can ask for (an input wired to another node's output is filled in by the run)`,
        });
      return;
    }
    const node = fieldNode(field);
    if (!nodes.includes(node)) problems.push({ field: `${at}.key`, message: notANode(node) });
    if (!repeated && counted.has(node))
      problems.push({
        field: `${at}.key`,
        message: `${node}'s instances are already asked by another field`,
      });
    counted.add(node);
    if (field.type !== 'number')
      problems.push({ field: `${at}.type`, message: 'an instance count is a number' });
    if (field.generate || field.options)
      problems.push({
        field: `${at}.${field.generate ? 'generate' : 'options'}`,
        message: 'an instance count is typed, neither generated nor chosen from options',
      });
    const whole = (value: number | undefined) =>
      value === undefined || (Number.isInteger(value) && value >= 0 && value <= maxInstances);
    if (!whole(field.min))
      problems.push({
        field: `${at}.min`,
        message: `must be a whole number from 0 to ${maxInstances}`,
      });
    if (!whole(field.max))
      problems.push({
        field: `${at}.max`,
        message: `must be a whole number from 0 to ${maxInstances}`,
      });
    const bounds = countBounds(field);
    if (bounds.low > bounds.high)
      problems.push({
        field: `${at}.max`,
        message: `must be at least the minimum (${bounds.low})`,
      });
    else if (field.default !== undefined && !bounds.within(field.default))
      problems.push({ field: `${at}.default`, message: bounds.message });
  });
  for (const node of Object.keys(clouds))
    if (!nodes.includes(node)) problems.push({ field: `clouds.${node}`, message: notANode(node) });
  return problems;
}

/**
 * The instance counts a deploy asks for: a node's own `multiplicity` entry, else its count
 * field's value (the form's default when left empty). Each must be a whole number within the
 * field's bounds; what is not is a problem named where it was given.
 */
export function askedCounts(
  form: readonly FormFieldShape[],
  parameters: Readonly<Record<string, string>>,
  multiplicity: Readonly<Record<string, number>>,
): { counts: Record<string, number>; problems: { field: string; message: string }[] } {
  const counts: Record<string, number> = { ...multiplicity };
  const problems: { field: string; message: string }[] = [];
  for (const field of form) {
    if (field.sets !== 'multiplicity') continue;
    const node = fieldNode(field);
    const { within, message } = countBounds(field);
    if (multiplicity[node] !== undefined) {
      if (!within(multiplicity[node])) problems.push({ field: `multiplicity.${node}`, message });
      continue;
    }
    const text = parameters[field.key]?.trim() || field.default;
    if (text === undefined) continue;
    if (!within(text)) problems.push({ field: `parameters.${field.key}`, message });
    else counts[node] = Number(text);
  }
  return { counts, problems };
}

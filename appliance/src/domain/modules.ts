/**
 * Modules: versioned documents at paths in a tree. A project holds children; an image is one
 * kind of VM with its recipes; a deployment wires nodes of images together. Pure: parsing
 * references, resolving inheritance and validating deployments need no I/O — the caller hands
 * in a lookup.
 */
import { isValidName, maxValueBytes, valueTooLong } from './params.ts';

export const moduleKinds = ['project', 'image', 'deployment'] as const;
export type ModuleKind = (typeof moduleKinds)[number];

/**
 * Recipes run in this order; `migrate` only in a run that upgrades another (it gets the old
 * run's id); the last two run on the other instances when a node scales.
 */
export const recipeNames = [
  'preInstall',
  'postInstall',
  'migrate',
  'deploy',
  'report',
  'onNodeAdd',
  'onNodeRemove',
] as const;
export type RecipeName = (typeof recipeNames)[number];

export const parameterTypes = [
  'string',
  'secret',
  'number',
  'boolean',
  'enum',
  'hostname',
  'password',
] as const;
export type ParameterType = (typeof parameterTypes)[number];

export interface InputParameter {
  name: string;
  type: ParameterType;
  description?: string;
  /** No default and not mapped: the run must be given a value. */
  default?: string;
  /** For `enum`. */
  options?: string[];
  /** Never returned by the API nor written to logs (implied by `secret` and `password`). */
  secret?: boolean;
}

export interface OutputParameter {
  name: string;
  description?: string;
  /** Kept from the API and the logs, like a secret input (e.g. a generated password passed on). */
  secret?: boolean;
}

export interface Resources {
  vcpu: number;
  memoryMiB: number;
  diskGiB: number;
}

/** Per connector kind, what to boot: an image-store image for libvirt. */
export type NativeImages = Record<string, { imageId: string }>;

export interface Port {
  name: string;
  port: number;
  protocol: 'http' | 'https' | 'tcp';
}

export interface ImageContent {
  kind: 'image';
  description?: string;
  /** Another image this one inherits from (a reference, floating or pinned). */
  parent: string | null;
  nativeImages: NativeImages;
  resources?: Partial<Resources>;
  packages?: string[];
  recipes: Partial<Record<RecipeName, string>>;
  inputs: InputParameter[];
  outputs: OutputParameter[];
  ports: Port[];
}

/** Where a node input's value comes from: another node's output (`db:port`) or a literal. */
export type Mapping = { output: string } | { value: string };

export interface DeploymentNode {
  name: string;
  image: string;
  multiplicity: number;
  /** A cloud id; null means the box. */
  cloud: string | null;
  maxFailures: number;
  mappings: Record<string, Mapping>;
}

export interface DeploymentContent {
  kind: 'deployment';
  description?: string;
  nodes: DeploymentNode[];
}

export interface ProjectContent {
  kind: 'project';
  description?: string;
}

export type ModuleContent = ProjectContent | ImageContent | DeploymentContent;

/** An image with its whole parent chain merged in (child wins). */
export interface ResolvedImage {
  /** The versions it was made of, child first: `/a/b@3`. */
  chain: string[];
  nativeImages: NativeImages;
  resources: Resources;
  packages: string[];
  recipes: Partial<Record<RecipeName, string>>;
  inputs: InputParameter[];
  outputs: OutputParameter[];
  ports: Port[];
}

export const defaultResources: Resources = { vcpu: 1, memoryMiB: 256, diskGiB: 2 };

/** One level of the tree: a project's or a module's own name. */
const segment = '[a-z0-9][a-z0-9._-]{0,63}';
const segmentPattern = new RegExp(`^${segment}$`);
const pathPattern = new RegExp(`^(/${segment}){1,16}$`);

/** A module reference: `/a/b` (floating: the latest version) or `/a/b@3` (pinned). */
export interface Reference {
  path: string;
  version: number | null;
}

export class ModuleError extends Error {
  override name = 'ModuleError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Is this a well-formed name for a new module or project (the last segment of its path)? */
export function isValidSegment(name: string): boolean {
  return segmentPattern.test(name);
}

export function isValidPath(path: string): boolean {
  return pathPattern.test(path);
}

export function parseReference(text: string, field = 'reference'): Reference {
  const match = /^([^@]+)(?:@(\d{1,9}))?$/.exec(text);
  if (!match || !isValidPath(match[1]!)) {
    throw new ModuleError(
      `"${text}" is not a module reference: use /project/name or /project/name@version (lowercase letters, digits, ".", "_", "-").`,
      field,
    );
  }
  const version = match[2] === undefined ? null : Number(match[2]);
  if (version === 0)
    throw new ModuleError(`Versions start at 1; "${text}" names version 0.`, field);
  return { path: match[1]!, version };
}

export function formatReference(reference: Reference): string {
  return reference.version === null ? reference.path : `${reference.path}@${reference.version}`;
}

/** Looks up a module version: `version` null means the latest. Returns null when there is none. */
export type ModuleLookup = (
  path: string,
  version: number | null,
) => { version: number; content: ModuleContent } | null;

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

const nodeNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

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

/** A problem found while validating a module: where (`nodes.1.mappings.port`) and what. */
export interface Problem {
  field: string;
  message: string;
}

/**
 * A deployment is saved only when its nodes are well named, multiplicities and failure
 * tolerances make sense, every image resolves, every input without a default is mapped, and
 * every mapping names an output that exists on a node of this deployment.
 */
export function validateDeployment(content: DeploymentContent, lookup: ModuleLookup): Problem[] {
  const problems: Problem[] = [];
  const images = new Map<number, ResolvedImage>();
  const byName = new Map<string, number>();
  if (content.nodes.length === 0)
    problems.push({ field: 'nodes', message: 'a deployment needs at least one node' });
  content.nodes.forEach((node, index) => {
    const at = `nodes.${index}`;
    if (!nodeNamePattern.test(node.name))
      problems.push({
        field: `${at}.name`,
        message:
          'must start with a lowercase letter; lowercase letters, digits and "-", at most 32',
      });
    if (byName.has(node.name))
      problems.push({ field: `${at}.name`, message: `another node is already named ${node.name}` });
    else byName.set(node.name, index);
    if (!Number.isInteger(node.multiplicity) || node.multiplicity < 0 || node.multiplicity > 64) {
      problems.push({
        field: `${at}.multiplicity`,
        message: 'must be a whole number from 0 to 64',
      });
    }
    if (
      !Number.isInteger(node.maxFailures) ||
      node.maxFailures < 0 ||
      node.maxFailures > Math.max(0, node.multiplicity - 1)
    ) {
      problems.push({
        field: `${at}.maxFailures`,
        message: `must be a whole number from 0 to ${Math.max(0, node.multiplicity - 1)} (fewer than the node's instances)`,
      });
    }
    try {
      images.set(index, resolveImage(node.image, lookup, `${at}.image`));
    } catch (error) {
      if (!(error instanceof ModuleError)) throw error;
      problems.push({ field: error.field, message: error.message });
    }
  });
  content.nodes.forEach((node, index) => {
    const image = images.get(index);
    if (!image) return;
    const at = `nodes.${index}.mappings`;
    const inputs = new Map(image.inputs.map((input) => [input.name, input]));
    for (const [input, mapping] of Object.entries(node.mappings)) {
      if (!inputs.has(input)) {
        problems.push({
          field: `${at}.${input}`,
          message: `${node.name}'s image has no input ${input}; it has: ${[...inputs.keys()].join(', ') || 'none'}`,
        });
        continue;
      }
      if ('output' in mapping) {
        const [source, output] = mapping.output.split(':');
        const sourceIndex = source ? byName.get(source) : undefined;
        const sourceImage = sourceIndex === undefined ? undefined : images.get(sourceIndex);
        if (!source || !output || sourceIndex === undefined) {
          problems.push({
            field: `${at}.${input}`,
            message: `"${mapping.output}" must name a node of this deployment and one of its outputs, like db:port`,
          });
        } else if (
          sourceImage &&
          !sourceImage.outputs.some((candidate) => candidate.name === output)
        ) {
          problems.push({
            field: `${at}.${input}`,
            message: `node ${source} has no output ${output}; it has: ${sourceImage.outputs.map((o) => o.name).join(', ') || 'none'}`,
          });
        }
      }
    }
    for (const input of image.inputs) {
      if (input.default === undefined && !(input.name in node.mappings)) {
        problems.push({
          field: `${at}.${input.name}`,
          message: `input ${input.name} of ${node.name} has no default and must be mapped to an output or a value`,
        });
      }
    }
  });
  return problems;
}

/**
 * An image's own parameters, checked as they are typed and on save: every input, output and
 * port well named and named once in its list, every default valid for its input's type, an enum
 * with options, every port a whole number from 1 to 65535. Fields are `inputs.0.default` etc.
 */
export function validateImage(
  content: Pick<ImageContent, 'inputs' | 'outputs' | 'ports'>,
): Problem[] {
  const problems: Problem[] = [];
  const names = (list: 'inputs' | 'outputs' | 'ports', items: readonly { name: string }[]) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const field = `${list}.${index}.name`;
      if (!isValidName(item.name))
        problems.push({
          field,
          message: 'must start with a letter; letters, digits, "_", "." or "-", at most 64',
        });
      else if (seen.has(item.name))
        problems.push({
          field,
          message: `another ${list.slice(0, -1)} is already named ${item.name}`,
        });
      seen.add(item.name);
    });
  };
  names('inputs', content.inputs);
  names('outputs', content.outputs);
  names('ports', content.ports);
  content.inputs.forEach((input, index) => {
    const hasOptions = input.type !== 'enum' || (input.options?.length ?? 0) > 0;
    if (!hasOptions)
      problems.push({
        field: `inputs.${index}.options`,
        message: 'an enum needs at least one option',
      });
    const problem =
      input.default === undefined || !hasOptions ? null : checkValue(input, input.default);
    if (problem)
      problems.push({ field: `inputs.${index}.default`, message: `the default ${problem}` });
  });
  content.ports.forEach((port, index) => {
    if (!Number.isInteger(port.port) || port.port < 1 || port.port > 65535)
      problems.push({
        field: `ports.${index}.port`,
        message: 'must be a whole number from 1 to 65535',
      });
  });
  return problems;
}

/** What a secret looks like wherever it is shown (module defaults, run parameters, logs). */
export const maskedValue = '********';

/** Is this input's value kept from the API and the logs? */
export function isSecret(input: InputParameter): boolean {
  return input.secret === true || input.type === 'secret' || input.type === 'password';
}

/** Checks a value given for an input; returns the problem, or null when it is fine. */
export function checkValue(input: InputParameter, value: string): string | null {
  if (valueTooLong(value)) return `must be at most ${maxValueBytes} bytes`;
  switch (input.type) {
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? null : 'must be a number';
    case 'boolean':
      return value === 'true' || value === 'false' ? null : 'must be true or false';
    case 'enum':
      return input.options?.includes(value)
        ? null
        : `must be one of: ${(input.options ?? []).join(', ')}`;
    case 'hostname':
      return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        value,
      )
        ? null
        : 'must be a host name';
    default:
      return null;
  }
}

/**
 * Modules: versioned documents at paths in a tree. A project holds children; an image is one
 * kind of VM with its recipes; a deployment wires nodes of images together. This file holds what
 * a module's content is; references are parsed in module-references.ts, inheritance is resolved in
 * module-resolution.ts and deployments and images are validated in module-validation.ts, all pure:
 * the caller hands in a lookup.
 */

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

/** What a secret looks like wherever it is shown (module defaults, run parameters, logs). */
export const maskedValue = '********';

/** Is this input's value kept from the API and the logs? */
export function isSecret(input: InputParameter): boolean {
  return input.secret === true || input.type === 'secret' || input.type === 'password';
}

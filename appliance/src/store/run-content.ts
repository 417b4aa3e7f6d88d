import { createHash } from 'node:crypto';
import { parseReference, type ModuleLookup } from '../domain/module-references.ts';
import { resolveImage } from '../domain/module-resolution.ts';
import type { RunNode, StoredRun } from '../domain/runs.ts';
import type { MainDocument, StoredModule } from './document.ts';

/** What a run's node took from its image chain: the part stored by reference. */
export type NodeContent = Pick<
  RunNode,
  'resources' | 'nativeImages' | 'packages' | 'recipes' | 'inputs' | 'outputs' | 'ports'
>;

const contentKeys = [
  'resources',
  'nativeImages',
  'packages',
  'recipes',
  'inputs',
  'outputs',
  'ports',
] as const satisfies readonly (keyof NodeContent)[];

/** A node as it is stored: by reference (its image chain's module versions and the content's hash). */
export type StoredNode = Omit<RunNode, keyof NodeContent> & Partial<NodeContent>;

/** The content's SHA-256 over its JSON with sorted keys, so the same content hashes the same. */
export function contentHashOf(node: NodeContent): string {
  const content = Object.fromEntries(contentKeys.map((key) => [key, node[key]]));
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** The node as it is written: without its content when it has a hash (the reference stands for it). */
function storedNode(node: RunNode): StoredNode {
  if (node.contentHash === null) return node;
  const reference: StoredNode = { ...node };
  for (const key of contentKeys) delete reference[key];
  return reference;
}

/** A run as it is written (its nodes by reference). */
export function storedRun(run: StoredRun): StoredRun {
  return { ...run, nodes: run.nodes.map(storedNode) as RunNode[] };
}

/** The main document as it is written: every run's nodes by reference. */
export function encodeDocument(document: MainDocument): unknown {
  return { ...document, runs: document.runs.map(storedRun) };
}

/**
 * A stored run with its nodes' content read back from the module versions of their image chains,
 * and checked against its hash. Nodes kept whole (stored before, or whose chain did not give their
 * content back) are left as they are.
 */
export function resolvedRun(run: StoredRun, modules: readonly StoredModule[]): StoredRun {
  for (const [index, node] of run.nodes.entries()) {
    const stored = node as StoredNode;
    if (stored.recipes !== undefined) continue;
    const content = chainContent(stored.image, modules);
    if (!content || contentHashOf(content) !== stored.contentHash)
      throw new Error(
        `Run ${run.id}, node ${stored.name}: its image chain ${stored.image.join(' → ')} no longer gives the content it was deployed with; restore the last good backup.`,
      );
    run.nodes[index] = { ...stored, ...content } as RunNode;
  }
  return run;
}

/** Every run of the document read back (after opening and migrating it). */
export function decodeDocument(document: MainDocument): MainDocument {
  for (const run of document.runs) resolvedRun(run, document.modules);
  return document;
}

/**
 * The content an image chain (child first, each `path@version`) merges to, reading each pinned
 * version whether its module is live or deleted; null when a version is not there.
 */
function chainContent(
  chain: readonly string[],
  modules: readonly StoredModule[],
): NodeContent | null {
  const pins = new Map(
    chain.map((label) => {
      const parsed = parseReference(label, 'image');
      return [parsed.path, parsed.version] as const;
    }),
  );
  const lookup: ModuleLookup = (path) => {
    const version = pins.get(path);
    for (const module of modules) {
      if (module.path !== path) continue;
      const found = module.versions.find((candidate) => candidate.version === version);
      if (found) return { version: found.version, content: found.content };
    }
    return null;
  };
  try {
    const { chain: resolved, ...content } = resolveImage(chain[0]!, lookup);
    return resolved.join() === chain.join() ? content : null;
  } catch {
    return null;
  }
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      )
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

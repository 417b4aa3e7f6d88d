import { parseAllDocuments, Parser, stringify } from 'yaml';
import type { Subject } from '../domain/access.ts';
import { limits } from '../domain/limits.ts';
import { type ModuleContent } from '../domain/modules.ts';
import { isValidPath } from '../domain/module-references.ts';
import { BivouacError } from '../errors.ts';
import { invalid, noModule } from './module-errors.ts';
import type { ModuleViews } from './module-views.ts';

/** Parses YAML (export/import) without trusting it: the caller validates each document. */
export type ContentParser = (value: unknown, field: string) => ModuleContent;

/** The latest version of every module under `path` `subject` may view, as one YAML stream. */
export function exportModules(views: ModuleViews, subject: Subject, path: string): string {
  const modules = views.list(subject, path).map((summary) => views.get(subject, summary.path)); // masked as `get` masks
  if (modules.length === 0) throw noModule(path);
  return modules
    .map((module) => stringify({ path: module.path, content: module.content }))
    .join('---\n');
}

/** The modules of a YAML stream (one `{ path, content }` document each), each content validated. */
export function parseModuleStream(
  yamlText: string,
  parse: ContentParser,
): Map<string, ModuleContent> {
  refuseDeepNesting(yamlText);
  const documents = parseAllDocuments(yamlText);
  const entries = (Array.isArray(documents) ? documents : [documents]).map((document, index) => {
    if (document.errors.length > 0)
      throw invalid(`documents.${index}`, `YAML error: ${document.errors[0]!.message}`);
    let value: { path?: unknown; content?: unknown } | null;
    try {
      // No aliases: they are how a small YAML file expands into a huge one.
      value = document.toJS({ maxAliasCount: 0 }) as typeof value;
    } catch (error) {
      throw invalid(`documents.${index}`, `YAML refused: ${(error as Error).message}`);
    }
    if (!value || typeof value.path !== 'string' || !isValidPath(value.path))
      throw invalid(`documents.${index}.path`, 'each document needs a module path');
    return { path: value.path, content: parse(value.content, `documents.${index}.content`) };
  });
  const pending = new Map<string, ModuleContent>();
  for (const entry of entries) {
    if (pending.has(entry.path)) throw invalid('documents', `${entry.path} appears twice.`);
    pending.set(entry.path, entry.content);
  }
  return pending;
}

/**
 * Refuses YAML whose collections nest deeper than `limits.yamlMaxDepth` before it is composed:
 * composing and converting recurse once per level, so a deep document would exhaust the stack.
 * The parser's syntax tree is walked with a list instead of recursion.
 */
function refuseDeepNesting(yamlText: string): void {
  const pending: { token: unknown; depth: number }[] = [];
  for (const token of new Parser().parse(yamlText)) pending.push({ token, depth: 0 });
  while (pending.length > 0) {
    const { token, depth } = pending.pop()!;
    if (!token || typeof token !== 'object') continue;
    const node = token as {
      type?: string;
      value?: unknown;
      items?: { key?: unknown; value?: unknown }[];
    };
    if (node.type === 'document') {
      pending.push({ token: node.value, depth });
      continue;
    }
    if (
      !Array.isArray(node.items) ||
      !['block-map', 'block-seq', 'flow-collection'].includes(node.type ?? '')
    )
      continue;
    if (depth + 1 > limits.yamlMaxDepth) {
      const message = `the YAML nests collections deeper than ${limits.yamlMaxDepth} levels; module documents need far fewer`;
      throw new BivouacError('VALIDATION_FAILED', `YAML refused: ${message}.`, {
        fields: [{ field: 'yaml', message }],
        maxDepth: limits.yamlMaxDepth,
      });
    }
    for (const item of node.items)
      pending.push({ token: item.key, depth: depth + 1 }, { token: item.value, depth: depth + 1 });
  }
}

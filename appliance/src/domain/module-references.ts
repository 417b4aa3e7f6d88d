/**
 * Module references (`/a/b`, `/a/b@3`): the names a path is made of, parsing and formatting, and
 * the lookup that follows a reference to a version.
 */
import type { ModuleContent } from './modules.ts';

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

/**
 * Runtime parameter keys: `node.i:name` for an instance, `node:name` meaning `node.1:name`, and
 * `run:name` for the run itself (`run:state`, `run:abort`, `run:url.service`…).
 */

export type ParameterKey =
  { scope: 'instance'; node: string; index: number; name: string } | { scope: 'run'; name: string };

export const maxValueBytes = 4096;

const namePattern = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const nodePattern = /^[a-z][a-z0-9-]{0,31}$/;

export class ParameterKeyError extends Error {
  override name = 'ParameterKeyError';
}

export function parseKey(text: string): ParameterKey {
  const colon = text.indexOf(':');
  const owner = colon < 0 ? '' : text.slice(0, colon);
  const name = colon < 0 ? '' : text.slice(colon + 1);
  if (!namePattern.test(name)) {
    throw new ParameterKeyError(
      `"${text}" is not a parameter key: use node.i:name, node:name or run:name, the name being letters, digits, "_", "." or "-".`,
    );
  }
  if (owner === 'run') return { scope: 'run', name };
  const match = /^([^.]+)(?:\.(\d{1,3}))?$/.exec(owner);
  if (!match || !nodePattern.test(match[1]!) || match[2] === '0') {
    throw new ParameterKeyError(
      `"${text}" does not name a node instance: use node.i (from 1), node (meaning node.1) or run.`,
    );
  }
  return {
    scope: 'instance',
    node: match[1]!,
    index: match[2] === undefined ? 1 : Number(match[2]),
    name,
  };
}

/** The canonical form: `node:name` becomes `node.1:name`. */
export function formatKey(key: ParameterKey): string {
  return key.scope === 'run' ? `run:${key.name}` : `${key.node}.${key.index}:${key.name}`;
}

/** Is this a well-formed parameter name (an input, an output, a port): `db_host`, `url.web`? */
export function isValidName(name: string): boolean {
  return namePattern.test(name);
}

export function valueTooLong(value: string): boolean {
  return new TextEncoder().encode(value).length > maxValueBytes;
}

/** Is this output a link (`url.*` outputs and `run:url.service`)? */
export function isLink(key: ParameterKey): boolean {
  return key.name.startsWith('url.');
}

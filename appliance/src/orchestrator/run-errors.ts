/** The errors runs answer with, and the checks of keys and references that make them. */
import { canonicalKey, type ParamRefusal } from '../domain/run-params.ts';
import { parseReference } from '../domain/module-references.ts';
import { BivouacError } from '../errors.ts';

/** Throws the refusal, if there is one, as its typed error. */
export function refuse(refusal: ParamRefusal | null, key: string): void {
  if (refusal)
    throw new BivouacError(refusal.code, `${refusal.message}.`, {
      key,
      ...(refusal.allowed ? { allowed: refusal.allowed } : {}),
    });
}

/** While the appliance stops: the agent asks again once it is back. */
export function shuttingDown(): BivouacError {
  return new BivouacError(
    'SHUTTING_DOWN',
    'The appliance is shutting down; ask again once it is back.',
    {},
  );
}

/** A field of a request that is not allowed, as VALIDATION_FAILED naming it. */
export function invalid(field: string, message: string): BivouacError {
  return new BivouacError('VALIDATION_FAILED', `${field} ${message}.`, {
    fields: [{ field, message }],
  });
}

/** A module reference, or VALIDATION_FAILED saying what is wrong with it. */
export function parseOrInvalid(reference: string): { path: string; version: number | null } {
  try {
    return parseReference(reference, 'module');
  } catch (error) {
    throw invalid('module', (error as Error).message);
  }
}

/** A runtime parameter key in its canonical form, or VALIDATION_FAILED. */
export function keyOrInvalid(key: string): string {
  try {
    return canonicalKey(key);
  } catch (error) {
    throw invalid('key', (error as Error).message);
  }
}

/** A key's scope and name, as the link rule reads them. */
export function keyParts(key: string): { name: string; scope: 'run' } {
  return { scope: 'run', name: key.slice(key.indexOf(':') + 1) };
}

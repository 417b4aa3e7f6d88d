import type { Action } from '../domain/access.ts';
import { BivouacError } from '../errors.ts';

/** VALIDATION_FAILED for one field. */
export function invalid(field: string, message: string): BivouacError {
  return new BivouacError('VALIDATION_FAILED', message, { fields: [{ field, message }] });
}

/** FORBIDDEN: `path` is a module the subject may view, but not `action`. */
export function forbidden(path: string, action: Action): BivouacError {
  return new BivouacError('FORBIDDEN', `You may not ${action} ${path}.`, {
    resource: 'module',
    path,
    action,
  });
}

/** NOT_FOUND for a module, the same whether it is missing or hidden from the subject. */
export function noModule(path: string): BivouacError {
  return new BivouacError('NOT_FOUND', `No module at ${path}.`, { resource: 'module', path });
}

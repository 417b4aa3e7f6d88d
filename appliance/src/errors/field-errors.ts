import type { z } from 'zod';
import { BivouacError } from './bivouac-error.ts';

/** One field-level problem, as `details.fields` lists them. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** Turns zod issues into a message and details that name every offending field. */
export function validationError(
  where: 'body' | 'query' | 'params',
  error: z.ZodError,
): BivouacError {
  const fields: FieldProblem[] = [];
  for (const issue of error.issues) {
    const base = [where, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        fields.push({ field: `${base}.${key}`, message: 'is not a known field' });
    } else {
      fields.push({ field: base, message: issue.message });
    }
  }
  const summary = fields.map((problem) => `${problem.field} ${problem.message}`).join('; ');
  return new BivouacError('VALIDATION_FAILED', `Invalid request: ${summary}.`, { fields });
}

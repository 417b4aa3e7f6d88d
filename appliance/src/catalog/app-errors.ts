import { BivouacError } from '../errors.ts';

/** VALIDATION_FAILED for `problems`, each named where it is. */
export function misfit(what: string, problems: { field: string; message: string }[]): BivouacError {
  return new BivouacError(
    'VALIDATION_FAILED',
    `${what}: ${problems.map((problem) => `${problem.field} ${problem.message}`).join('; ')}.`,
    { fields: problems },
  );
}

import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import {
  resourceLabels,
  resources,
  type Resource,
} from '../../../../appliance/src/domain/capacity.ts';
import { askedCounts, fieldNode } from '../../../../appliance/src/domain/deploy-form.ts';
import { checkValue } from '../../../../appliance/src/domain/module-validation.ts';

/** One field of an app's deploy form, as the API describes it. */
export type FormField = RouteOutput<'getApp'>['form'][number];

export type Preflight = RouteOutput<'preflightApp'>;

/** What each field starts with: its default, the first option, `false`, or empty. */
export function initialValues(form: readonly FormField[]): Record<string, string> {
  return Object.fromEntries(
    form.map((field) => [
      field.key,
      field.default ??
        (field.type === 'enum'
          ? (field.options?.[0] ?? '')
          : field.type === 'boolean'
            ? 'false'
            : ''),
    ]),
  );
}

/** Is an empty value fine? Optional fields, fields with a default, and passwords the box generates. */
function mayBeEmpty(field: FormField): boolean {
  return !field.required || field.generate || field.default !== undefined;
}

/** The number fields' bounds: the manifest's, and for a size, what the box and your quota have left. */
export function numberBounds(
  field: FormField,
  limit: SizeLimit | undefined,
): { min: number | undefined; max: number | undefined } {
  const max = [field.max, limit?.max].filter((value): value is number => value !== undefined);
  return {
    min: field.min ?? (field.sets === 'multiplicity' ? 0 : undefined),
    max: max.length ? Math.min(...max) : undefined,
  };
}

/** The problem with a field's value, said for the person typing it, or null when it is fine. */
export function fieldProblem(field: FormField, value: string, limit?: SizeLimit): string | null {
  if (value.trim() === '') return mayBeEmpty(field) ? null : 'Required.';
  if (field.type === 'number') {
    const number = Number(value);
    if (!Number.isFinite(number)) return 'Must be a number.';
    if (field.sets === 'multiplicity' && !Number.isInteger(number))
      return 'Must be a whole number.';
    const { min, max } = numberBounds(field, limit);
    if (min !== undefined && number < min) return `Must be at least ${min}.`;
    if (max !== undefined && number > max)
      return limit && max === limit.max && (field.max === undefined || limit.max < field.max)
        ? `At most ${max}: ${limit.reason}.`
        : `Must be at most ${max}.`;
    return null;
  }
  const problem = checkValue(
    { name: field.key, type: field.type, ...(field.options ? { options: field.options } : {}) },
    value,
  );
  return problem ? `${problem[0]!.toUpperCase()}${problem.slice(1)}.` : null;
}

/** Every field's problem, by key (fine fields are left out). */
export function formProblems(
  form: readonly FormField[],
  values: Record<string, string>,
  limits: Record<string, SizeLimit>,
): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const field of form) {
    const problem = fieldProblem(field, values[field.key] ?? '', limits[field.key]);
    if (problem) problems[field.key] = problem;
  }
  return problems;
}

/**
 * The instance counts that size fields set, by node, for the pre-flight: the box's own rule for
 * a deploy (`askedCounts`), so the pre-flight checks the sizes the deploy will use. A count
 * outside its field's bounds is left out (the box refuses it; the field itself says why).
 */
export function multiplicities(
  form: readonly FormField[],
  values: Record<string, string>,
): Record<string, number> {
  return askedCounts(form, values, {}).counts;
}

/** The values to send: empty fields are left out, so the box uses the default or generates one. */
export function parametersOf(
  form: readonly FormField[],
  values: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    form
      .filter((field) => (values[field.key] ?? '').trim() !== '')
      .map((field) => [field.key, values[field.key]!]),
  );
}

/** How many instances a node may have at most, and why. */
export interface SizeLimit {
  max: number;
  reason: string;
}

/**
 * The most instances each size field's node can have with what is left: the box's capacity and
 * your quota for every resource (from the pre-flight's used and left; the box's disk is the disk
 * formula's). Fields whose node the pre-flight does not know are left out.
 */
export function sizeLimits(
  form: readonly FormField[],
  preflight: Preflight | null,
): Record<string, SizeLimit> {
  const limits: Record<string, SizeLimit> = {};
  if (!preflight) return limits;
  for (const field of form) {
    if (field.sets !== 'multiplicity') continue;
    const node = preflight.nodes.find((candidate) => candidate.name === fieldNode(field));
    if (!node) continue;
    let best: SizeLimit | null = null;
    for (const resource of resources) {
      const check = preflight.checks.find(
        (candidate) => candidate.check === `capacity.${resource}`,
      );
      const left = check?.details.left;
      const each = resource === 'vms' ? 1 : node.resources[resource as Exclude<Resource, 'vms'>];
      if (typeof left !== 'number' || each <= 0) continue;
      const max = node.multiplicity + Math.floor((left - preflight.footprint[resource]) / each);
      if (!best || max < best.max)
        best = { max: Math.max(0, max), reason: `${left} ${resourceLabels[resource]} left` };
    }
    if (best) limits[field.key] = best;
  }
  return limits;
}

import type { FormCandidate } from '../../../../appliance/src/domain/deploy-form.ts';
import type { RouteInput } from '../../../../appliance/src/api/contract.ts';

/** One field of a published app's deploy form, as the publish route takes it. */
export type FormField = RouteInput<'publishApp'>['body']['form'][number];

/** A label from an input's name: `admin_password` → "Admin password". */
export function labelFor(name: string): string {
  const words = name
    .replace(/[_.-]+/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  return (words.charAt(0).toUpperCase() + words.slice(1)).slice(0, 100);
}

/**
 * The deploy form's fields for the inputs asked (by key, with their labels): typed as the input,
 * its value as the default, required when it has none (a password without one is generated).
 */
export function formFields(
  candidates: readonly FormCandidate[],
  asked: Readonly<Record<string, string>>,
): FormField[] {
  return candidates
    .filter((candidate) => candidate.key in asked)
    .map(({ key, input, current }) => ({
      key,
      label: asked[key]!.trim() || labelFor(input.name),
      type: input.type,
      ...(input.description ? { help: input.description.slice(0, 500) } : {}),
      ...(current !== undefined ? { default: current } : {}),
      ...(input.type === 'enum' && input.options?.length ? { options: input.options } : {}),
      required: current === undefined,
      generate: input.type === 'password' && current === undefined,
      sets: 'input' as const,
    }));
}

/** Where a node may run, as the publish route takes it. */
export type CloudChoice = RouteInput<'publishApp'>['body']['clouds'][string];

/** A node whose instance count the form asks for, with the bounds typed so far. */
export interface AskedCount {
  label: string;
  min: string;
  max: string;
}

/**
 * The field that lets the operator choose how many instances `node` gets: a number between the
 * bounds, starting at the deployment's own count. A bound left empty is no bound; one that is
 * not a number stays as typed (NaN), so the rules of the publish flag it.
 */
export function countField(node: string, multiplicity: number, asked: AskedCount): FormField {
  const bound = (text: string) => (text.trim() === '' ? {} : { value: Number(text) });
  const min = bound(asked.min);
  const max = bound(asked.max);
  return {
    key: `${node}:instances`,
    label: asked.label.trim() || `${labelFor(node)} instances`,
    type: 'number',
    default: String(multiplicity),
    required: false,
    generate: false,
    sets: 'multiplicity',
    ...('value' in min ? { min: min.value } : {}),
    ...('value' in max ? { max: max.value } : {}),
  };
}

/** What the picker hands the publish: the form's fields and each node's cloud choice. */
export interface DeployFormChoice {
  form: FormField[];
  clouds: Record<string, CloudChoice>;
}

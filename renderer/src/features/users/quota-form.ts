import { Quota as QuotaSchema } from '../../../../appliance/src/api/schemas.ts';
import { limits } from '../../../../appliance/src/domain/limits.ts';
import type { RouteInput, RouteOutput } from '../../../../appliance/src/api/contract.ts';

export type QuotaBody = RouteInput<'setQuota'>['body'];
/** A user's quota as the box keeps it. */
export type Quota = RouteOutput<'setQuota'>;
export type QuotaResource = keyof Quota;

/**
 * The quota's fields in the order the form shows them, with their labels and what an empty one
 * means: no limit but the box's, or (live runs) the box's default per user.
 */
export const quotaFields: { key: QuotaResource; label: string; empty: string }[] = [
  { key: 'vms', label: 'VMs', empty: 'no quota' },
  { key: 'vcpu', label: 'vCPUs', empty: 'no quota' },
  { key: 'memoryMiB', label: 'Memory (MiB)', empty: 'no quota' },
  { key: 'diskGiB', label: 'Disk (GiB)', empty: 'no quota' },
  { key: 'runs', label: 'Live runs', empty: `default ${limits.liveRunsPerUser}` },
];

/** The form's text per field; '' means no quota beyond the box. */
export type QuotaText = Record<QuotaResource, string>;

/** A quota as the form shows it. */
export function quotaText(quota: Quota): QuotaText {
  return Object.fromEntries(
    quotaFields.map(({ key }) => [key, quota[key] === undefined ? '' : String(quota[key])]),
  ) as QuotaText;
}

/**
 * The body to send, or the problem of each field, checked as you type with the API's own Quota
 * schema so the form and the save cannot disagree. An empty field leaves that resource limited
 * only by the box.
 */
export function quotaBody(
  text: QuotaText,
): { body: QuotaBody; problems: null } | { body: null; problems: Partial<QuotaText> } {
  const problems: Partial<QuotaText> = {};
  const body: Record<string, number> = {};
  for (const { key } of quotaFields) {
    const value = text[key].trim();
    if (value === '') continue;
    const number = Number(value);
    if (!Number.isFinite(number)) problems[key] = 'must be a number';
    else body[key] = number;
  }
  const checked = QuotaSchema.safeParse(body);
  if (!checked.success)
    for (const issue of checked.error.issues) {
      const key = issue.path[0] as QuotaResource;
      problems[key] ??= issue.message;
    }
  return Object.keys(problems).length > 0
    ? { body: null, problems }
    : { body: body as QuotaBody, problems: null };
}

/** A quota in words, for the users table. */
export function describeQuota(quota: Quota): string {
  const parts = quotaFields
    .filter(({ key }) => quota[key] !== undefined)
    .map(({ key, label }) => `${label} ${quota[key]}`);
  return parts.length === 0 ? 'Only the box limits' : parts.join(', ');
}

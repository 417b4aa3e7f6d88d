import { useState, type FormEvent } from 'react';
import type { ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import {
  quotaBody,
  quotaFields,
  quotaText,
  type Quota,
  type QuotaBody,
  type QuotaText,
} from './quota-form.ts';

/**
 * One user's quota inside the box's capacity: a limit per resource, or none (empty). Each field
 * is checked as you type; the appliance's refusal is shown under the form.
 */
export function QuotaEditor({
  username,
  quota,
  onSave,
  onCancel,
}: {
  username: string;
  quota: Quota;
  onSave(quota: QuotaBody): Promise<ApiError | null>;
  onCancel(): void;
}) {
  const [text, setText] = useState<QuotaText>(() => quotaText(quota));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const checked = quotaBody(text);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!checked.body) return;
    setBusy(true);
    setError(await onSave(checked.body));
    setBusy(false);
  }

  return (
    <form className="inline quota-form" onSubmit={submit} aria-label={`Quota of ${username}`}>
      {quotaFields.map(({ key, label, empty }) => {
        const problem = checked.problems?.[key];
        return (
          <label key={key}>
            {label}
            <input
              inputMode="numeric"
              value={text[key]}
              placeholder={empty}
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? `quota-${key}-problem` : undefined}
              onChange={(event) => setText({ ...text, [key]: event.target.value })}
            />
            {problem && (
              <small id={`quota-${key}-problem`} className="error">
                {problem}
              </small>
            )}
          </label>
        );
      })}
      <button type="submit" disabled={busy || checked.body === null}>
        Save quota
      </button>
      <button type="button" className="secondary" onClick={onCancel}>
        Cancel
      </button>
      <p className="muted">
        An empty field leaves that resource limited only by the box; live runs, by the box&apos;s
        default per user.
      </p>
      <ErrorText error={error} />
    </form>
  );
}

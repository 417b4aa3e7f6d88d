import type { ApiError } from '../api/client.ts';

/** The appliance's own message for a failed action, read out by screen readers. */
export function ErrorText({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error.message}
    </p>
  );
}

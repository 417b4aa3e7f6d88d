/** A cloud's health as its last check found it (the API's `status`). */
export interface CloudHealth {
  reachable: boolean;
  checkedAt: string | null;
}

/**
 * Reachable, unreachable or not checked yet, in the same words and colours on every page that
 * shows a cloud; when it was checked is in the title.
 */
export function CloudHealthBadge({ status }: { status: CloudHealth }) {
  if (status.checkedAt === null) return <span className="health unknown">Not checked yet</span>;
  return (
    <span
      className={status.reachable ? 'health good' : 'health bad'}
      title={`Checked ${new Date(status.checkedAt).toLocaleString()}`}
    >
      {status.reachable ? 'Reachable' : 'Unreachable'}
    </span>
  );
}

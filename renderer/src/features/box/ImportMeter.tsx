import { formatBytes } from '../../ui/format-bytes.ts';
import { percentDone, type ImportProgress } from './import-progress.ts';

/** An import's progress as a bar and in words; without a total, just the bytes so far. */
export function ImportMeter({
  label,
  progress,
}: {
  label: string;
  progress: ImportProgress | null;
}) {
  const percent = progress ? percentDone(progress) : null;
  return (
    <span className="import-meter">
      <progress aria-label={label} max={100} {...(percent !== null ? { value: percent } : {})} />
      <small>
        {progress === null
          ? 'starting…'
          : percent !== null
            ? `${percent} % of ${formatBytes(progress.totalBytes!)}`
            : `${formatBytes(progress.receivedBytes)} so far`}
      </small>
    </span>
  );
}

import { useId } from 'react';

/**
 * A bar with its figures: `used` (solid) and optionally `reserved` (hatched, so it reads without
 * colour) out of `total`, exposed as a meter whose value text is the line shown under it.
 */
export function Meter({
  label,
  total,
  used,
  reserved = 0,
  usedPercent,
  reservedPercent = 0,
  text,
}: {
  label: string;
  total: number;
  used: number;
  reserved?: number;
  usedPercent: number;
  reservedPercent?: number;
  text: string;
}) {
  const id = useId();
  return (
    <div className="meter-row">
      <div className="meter-head">
        <span id={id} className="meter-label">
          {label}
        </span>
        <span className="meter-text">{text}</span>
      </div>
      <div
        className="meter"
        role="meter"
        aria-labelledby={id}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={Math.min(total, used + reserved)}
        aria-valuetext={text}
      >
        <span className="meter-used" style={{ width: `${usedPercent}%` }} />
        {reservedPercent > 0 && (
          <span className="meter-reserved" style={{ width: `${reservedPercent}%` }} />
        )}
      </div>
    </div>
  );
}

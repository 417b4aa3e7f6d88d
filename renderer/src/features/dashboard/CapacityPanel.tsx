import type { ResourceUsage } from '../../../../appliance/src/domain/capacity.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { useUserNames } from '../../app/use-user-names.ts';
import { capacityShare, formatFigure, type FigureUnit } from './dashboard-format.ts';
import { useDashboard, type Capacity } from './dashboard-store.ts';
import { Meter } from './Meter.tsx';

type Resource = keyof Capacity['box'];

const resources: { key: Resource; label: string; unit: FigureUnit }[] = [
  { key: 'vms', label: 'VMs', unit: 'count' },
  { key: 'vcpu', label: 'vCPUs', unit: 'count' },
  { key: 'memoryMiB', label: 'Memory', unit: 'MiB' },
  { key: 'diskGiB', label: 'Disk', unit: 'GiB' },
];

/** The box's capacity as meters (used, reserved, free of the total) and each user's share. */
export function CapacityPanel() {
  const capacity = useDashboard((state) => state.capacity);
  const load = useDashboard((state) => state.loadCapacity);
  const isAdmin = useApp((state) => state.session?.user.role === 'admin');
  const names = useUserNames();
  useLiveLoad(load, (event) => event.subject.kind === 'capacity' || event.subject.kind === 'user');
  const report = capacity.value;
  return (
    <section className="panel dashboard-capacity" aria-labelledby="capacity-title">
      <h2 id="capacity-title">Capacity</h2>
      <ErrorText error={capacity.error} />
      {!report ? (
        !capacity.error && <p role="status">Loading…</p>
      ) : (
        <>
          {resources.map(({ key, label, unit }) => (
            <BoxMeter key={key} label={label} usage={report.box[key]} unit={unit} />
          ))}
          <p className="meter-legend" aria-hidden="true">
            <span className="swatch meter-used" /> used by running VMs{' '}
            <span className="swatch meter-reserved" /> reserved for VMs starting
          </p>
          <table className="capacity-users">
            <caption>{isAdmin ? 'By user' : 'Yours'}</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                {resources.map(({ key, label }) => (
                  <th key={key} scope="col">
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.users.map((user) => (
                <tr key={user.userId}>
                  <th scope="row">{names.get(user.userId) ?? user.userId}</th>
                  {resources.map(({ key, unit }) => (
                    <td key={key}>{userShare(user.usage[key], unit)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function BoxMeter({
  label,
  usage,
  unit,
}: {
  label: string;
  usage: ResourceUsage;
  unit: FigureUnit;
}) {
  const share = capacityShare(usage, unit);
  if (usage.total === null)
    return (
      <p className="meter-row">
        <span className="meter-label">{label}</span> {share.text}
      </p>
    );
  return (
    <Meter
      label={label}
      total={usage.total}
      used={usage.used}
      reserved={usage.reserved}
      usedPercent={share.usedPercent}
      reservedPercent={share.reservedPercent}
      text={share.text}
    />
  );
}

/** A user's use of one resource: taken (of the quota), with what is only reserved said apart. */
function userShare(usage: ResourceUsage, unit: FigureUnit): string {
  const taken = formatFigure(usage.used + usage.reserved, unit);
  const limit = usage.total === null ? '' : ` of ${formatFigure(usage.total, unit)}`;
  const reserved = usage.reserved > 0 ? ` (${formatFigure(usage.reserved, unit)} reserved)` : '';
  return `${taken}${limit}${reserved}`;
}

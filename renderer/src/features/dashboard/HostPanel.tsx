import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { formatBytes } from '../../ui/format-bytes.ts';
import { formatFigure, formatPercent, formatRate, percentOf } from './dashboard-format.ts';
import { useDashboard } from './dashboard-store.ts';
import { Meter } from './Meter.tsx';

/** The host's latest sample, new with every `box.metrics` event; what the host lacks is left out. */
export function HostPanel() {
  const metrics = useDashboard((state) => state.metrics);
  const load = useDashboard((state) => state.loadMetrics);
  useLiveLoad(load, (event) => event.type === 'box.metrics');
  const sample = metrics.value;
  return (
    <section className="panel dashboard-host" aria-labelledby="host-title">
      <h2 id="host-title">Host</h2>
      <ErrorText error={metrics.error} />
      {!sample ? (
        !metrics.error && <p role="status">Loading…</p>
      ) : sample.timeMs === null ? (
        <p role="status">No sample yet: the box measures itself every 10 seconds.</p>
      ) : (
        <>
          {sample.cpuPercent !== null && (
            <Meter
              label="CPU"
              total={100}
              used={Math.round(sample.cpuPercent)}
              usedPercent={sample.cpuPercent}
              text={`${formatPercent(sample.cpuPercent)} busy`}
            />
          )}
          {sample.memory && (
            <Meter
              label="Memory"
              total={sample.memory.totalBytes}
              used={sample.memory.usedBytes}
              usedPercent={percentOf(sample.memory.usedBytes, sample.memory.totalBytes)}
              text={`${formatBytes(sample.memory.usedBytes)} in use of ${formatBytes(sample.memory.totalBytes)}`}
            />
          )}
          {sample.disk && (
            <Meter
              label={`Disk (${sample.disk.mount})`}
              total={sample.disk.totalBytes}
              used={sample.disk.usedBytes}
              usedPercent={percentOf(sample.disk.usedBytes, sample.disk.totalBytes)}
              text={`${formatBytes(sample.disk.usedBytes)} used of ${formatBytes(sample.disk.totalBytes)}`}
            />
          )}
          <dl className="facts">
            {sample.network && (
              <>
                <dt>Network in</dt>
                <dd>{formatRate(sample.network.rxBytesPerSecond)}</dd>
                <dt>Network out</dt>
                <dd>{formatRate(sample.network.txBytesPerSecond)}</dd>
              </>
            )}
            {sample.temperatureCelsius !== null && (
              <>
                <dt>Temperature</dt>
                <dd>{formatFigure(sample.temperatureCelsius, 'celsius')}</dd>
              </>
            )}
            <dt>Measured</dt>
            <dd>
              <time dateTime={new Date(sample.timeMs).toISOString()}>
                {new Date(sample.timeMs).toLocaleTimeString()}
              </time>
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}

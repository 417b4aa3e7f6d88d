import { useCallback } from 'react';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { logLevels, useBox, type LogLevel } from './box-store.ts';
import { formatFields } from './box-format.ts';

const tone: Record<LogLevel, string> = {
  trace: 'done',
  debug: 'done',
  info: 'good',
  warn: 'busy',
  error: 'bad',
  fatal: 'bad',
};

/** Events that come in streams and say nothing the log would not: they do not reload it. */
const isChatter = (type: string): boolean =>
  type.endsWith('progress') || type === 'box.metrics' || type === 'run.param';

/**
 * The appliance's recent log lines, newest first, from a chosen level up. They reload when
 * something happens on the box (an event), since that is when new lines are written.
 */
export function LogsPanel() {
  const logs = useBox((state) => state.logs);
  const level = useBox((state) => state.logLevel);
  const setLevel = useBox((state) => state.setLogLevel);
  const loadLogs = useBox((state) => state.loadLogs);
  // A new level makes a new loader, which loads at once.
  const load = useCallback(() => loadLogs(), [loadLogs, level]);
  useLiveLoad(load, (event) => !isChatter(event.type));

  return (
    <div className="panel">
      <div className="box-panel-head">
        <h2 id="box-logs">Recent log lines</h2>
        <label className="inline-label">
          Level
          <select value={level} onChange={(event) => setLevel(event.target.value as LogLevel | '')}>
            <option value="">All</option>
            {logLevels.map((name) => (
              <option key={name} value={name}>
                {name} and above
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorText error={logs.error} />
      {logs.value && logs.value.length === 0 && (
        <p className="muted">No log lines at this level yet.</p>
      )}
      {logs.value && logs.value.length > 0 && (
        <div className="table-scroll box-log">
          <table aria-labelledby="box-logs">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Level</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {logs.value.map((line, index) => (
                <tr key={`${line.time}-${index}`} data-level={line.level}>
                  <td>
                    <time dateTime={line.time}>{new Date(line.time).toLocaleString()}</time>
                  </td>
                  <td>
                    <span className={`badge state-${tone[line.level]}`}>{line.level}</span>
                  </td>
                  <td>
                    {line.message}
                    {Object.keys(line.fields).length > 0 && (
                      <code className="log-fields">{formatFields(line.fields)}</code>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

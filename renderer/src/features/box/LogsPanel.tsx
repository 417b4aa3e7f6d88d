import { useCallback, useEffect, useRef } from 'react';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useEventStream, useLiveLoad } from '../../app/live.ts';
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

/**
 * The appliance's recent log lines, newest first, from a chosen level up: loaded once (and again
 * after the event stream was down), then each new line arrives as it is written (`box.log`).
 */
export function LogsPanel() {
  const logs = useBox((state) => state.logs);
  const level = useBox((state) => state.logLevel);
  const setLevel = useBox((state) => state.setLogLevel);
  const loadLogs = useBox((state) => state.loadLogs);
  // A new level makes a new loader, which loads at once.
  const load = useCallback(() => loadLogs(), [loadLogs, level]);
  const addLogLine = useBox((state) => state.addLogLine);
  useLiveLoad(load, () => false);
  // Live lines are not replayed: lines written while the stream was down come with a reload.
  const connected = useApp((state) => state.connected);
  const wasConnected = useRef(connected);
  useEffect(() => {
    if (connected && !wasConnected.current) void load();
    wasConnected.current = connected;
  }, [connected, load]);
  useEventStream(
    (event) => {
      if (event.type === 'box.log') addLogLine(event.data.line);
    },
    () => undefined,
  );

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

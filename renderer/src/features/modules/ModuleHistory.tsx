import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { useUserNames } from '../../app/use-user-names.ts';
import { diffCounts, diffLines } from './diff-lines.ts';

type VersionInfo = RouteOutput<'moduleHistory'>[number];

const marker = { added: '+', removed: '−', context: ' ', hunk: '', file: '' } as const;
const spoken = { added: 'added', removed: 'removed', context: '', hunk: '', file: '' } as const;

/** A module's versions (who, when, why), newest first, and the diff between any two of them. */
export function ModuleHistory({ path }: { path: string }) {
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const names = useUserNames();
  const load = useCallback(async () => {
    const result = await callSafe('moduleHistory', { query: { path } });
    if (result.ok) setVersions(result.value);
    setError(result.ok ? null : result.error);
  }, [path]);
  useLiveLoad(load, (event) => event.subject.kind === 'module' && event.subject.id === path);
  const newest = useMemo(() => [...(versions ?? [])].reverse(), [versions]);

  return (
    <div>
      <ErrorText error={error} />
      {versions === null && !error && <p role="status">Loading…</p>}
      {versions && (
        <div className="table-scroll">
          <table aria-label="Versions">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Author</th>
                <th scope="col">Saved</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {newest.map((entry) => (
                <tr key={entry.version}>
                  <td>
                    <Link
                      to={`?version=${entry.version}`}
                      aria-label={`Open version ${entry.version}`}
                    >
                      v{entry.version}
                    </Link>
                  </td>
                  <td>{names.get(entry.author) ?? entry.author}</td>
                  <td>
                    <time dateTime={entry.time}>{new Date(entry.time).toLocaleString()}</time>
                  </td>
                  <td>{entry.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {versions && versions.length >= 2 && (
        <DiffPanel
          key={versions.at(-1)!.version}
          path={path}
          numbers={versions.map((entry) => entry.version)}
        />
      )}
      {versions && versions.length < 2 && (
        <p className="muted">A diff needs two versions; save another to compare.</p>
      )}
    </div>
  );
}

/**
 * The comparison of two versions; a new version (`key`) starts it again at the newest pair.
 * `numbers` are the module's versions, oldest first (a module made again at a deleted path
 * starts past the numbers the path had). Two versions too different to diff within the box's
 * bounds (DIFF_TOO_LARGE) are said to be so, not shown as an error.
 */
function DiffPanel({ path, numbers }: { path: string; numbers: number[] }) {
  const [range, setRange] = useState({ from: numbers.at(-2)!, to: numbers.at(-1)! });
  const [asked, setAsked] = useState(range);
  const [diff, setDiff] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let isCurrent = true;
    void callSafe('diffModule', { query: { path, from: asked.from, to: asked.to } }).then(
      (result) => {
        if (!isCurrent) return;
        setDiff(result.ok ? result.value.diff : null);
        setError(result.ok ? null : result.error);
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [path, asked]);
  const lines = useMemo(() => diffLines(diff ?? ''), [diff]);
  const counts = diffCounts(lines);
  const choices = numbers;
  const isTooDifferent = error?.code === 'DIFF_TOO_LARGE';
  function compare(event: FormEvent) {
    event.preventDefault();
    setAsked(range);
  }
  return (
    <section className="panel" aria-labelledby="diff-title">
      <h3 id="diff-title">Compare versions</h3>
      <form className="inline" onSubmit={compare} aria-label="Choose versions to compare">
        {(['from', 'to'] as const).map((end) => (
          <label key={end}>
            {end === 'from' ? 'From' : 'To'}
            <select
              value={range[end]}
              onChange={(event) => setRange({ ...range, [end]: Number(event.target.value) })}
            >
              {choices.map((version) => (
                <option key={version} value={version}>
                  v{version}
                </option>
              ))}
            </select>
          </label>
        ))}
        <button type="submit" className="secondary">
          Compare
        </button>
      </form>
      {isTooDifferent ? (
        <p role="status">
          v{asked.from} and v{asked.to} are too different to show as a diff; open each version to
          read it.
        </p>
      ) : (
        <ErrorText error={error} />
      )}
      {diff !== null && (
        <>
          <p role="status">
            v{asked.from} → v{asked.to}: {counts.added} {counts.added === 1 ? 'line' : 'lines'}{' '}
            added, {counts.removed} removed
            {counts.added + counts.removed === 0 ? ' (the same document)' : ''}.
          </p>
          <ol className="diff" aria-label={`Changes from version ${asked.from} to ${asked.to}`}>
            {lines
              .filter((line) => line.kind !== 'file')
              .map((line, index) => (
                <li key={index} className={`diff-${line.kind}`}>
                  <span className="diff-marker" aria-hidden="true">
                    {marker[line.kind]}
                  </span>
                  {spoken[line.kind] && (
                    <span className="visually-hidden">{spoken[line.kind]}: </span>
                  )}
                  <code>{line.text || ' '}</code>
                </li>
              ))}
          </ol>
        </>
      )}
    </section>
  );
}

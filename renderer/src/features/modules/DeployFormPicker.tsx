import { useEffect, useMemo, useState } from 'react';
import { deployedNodes, formCandidates } from '../../../../appliance/src/domain/deploy-form.ts';
import type { ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { resolveNodes } from './deployment-check.ts';
import { formFields, labelFor, type FormField } from './publish-form.ts';
import { useReferencedModules } from './use-referenced-modules.ts';

const noModule: ModuleContent = { kind: 'deployment', nodes: [] };

/**
 * Which inputs the app's deploy form asks the operator for, and with which label. An input with
 * no value of its own is always asked (the run could not start without it); the others keep
 * their value unless chosen here, which then becomes the field's default. `onChange` gets null
 * until every image the version deploys is known, so a partial form is never published.
 */
export function DeployFormPicker({
  path,
  version,
  onChange,
}: {
  path: string;
  version: number;
  onChange: (form: FormField[] | null) => void;
}) {
  const [content, setContent] = useState<ModuleContent | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [asked, setAsked] = useState<Record<string, string>>({});
  useEffect(() => {
    let isCurrent = true;
    void callSafe('getModule', { query: { ref: `${path}@${version}` } }).then((result) => {
      if (!isCurrent) return;
      setContent(result.ok ? (result.value.content as ModuleContent) : null);
      setError(result.ok ? null : result.error);
    });
    return () => {
      isCurrent = false;
    };
  }, [path, version]);
  const nodes = useMemo(
    () => deployedNodes(path, version, content ?? noModule),
    [path, version, content],
  );
  const { loaded, isComplete, error: lookupError } = useReferencedModules(nodes);
  const images = useMemo(() => resolveNodes(nodes, loaded), [nodes, loaded]);
  const unresolved = isComplete ? images.filter((image) => typeof image === 'string') : [];
  const isReady = content !== null && isComplete && unresolved.length === 0;
  const candidates = useMemo(
    () => (isComplete ? formCandidates(nodes, images) : []),
    [nodes, images, isComplete],
  );
  const needed = useMemo(
    () => candidates.filter((candidate) => candidate.current === undefined),
    [candidates],
  );
  const chosen = useMemo(
    () => ({
      ...Object.fromEntries(
        needed.map((candidate) => [candidate.key, labelFor(candidate.input.name)]),
      ),
      ...asked,
    }),
    [needed, asked],
  );
  const fields = useMemo(() => formFields(candidates, chosen), [candidates, chosen]);
  useEffect(() => onChange(isReady ? fields : null), [isReady, fields, onChange]);

  return (
    <fieldset className="deploy-form-picker">
      <legend>Deploy form</legend>
      <ErrorText error={error} />
      <ErrorText error={lookupError} />
      {unresolved.length > 0 && (
        <p className="error" role="alert">
          {unresolved.join(' ')}
        </p>
      )}
      {!isComplete || content === null ? (
        !error && !lookupError && <p role="status">Looking up the inputs…</p>
      ) : unresolved.length > 0 ? null : candidates.length === 0 ? (
        <p className="muted">Nothing to ask: every input is wired to another node&apos;s output.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Inputs the deploy form asks for">
            <thead>
              <tr>
                <th scope="col">Ask</th>
                <th scope="col">Input</th>
                <th scope="col">Label on the form</th>
              </tr>
            </thead>
            <tbody>
              {candidates.map((candidate) => {
                const isNeeded = candidate.current === undefined;
                const isAsked = candidate.key in chosen;
                return (
                  <tr key={candidate.key}>
                    <td>
                      <input
                        type="checkbox"
                        className="ask"
                        aria-label={`Ask for ${candidate.key}`}
                        checked={isAsked}
                        disabled={isNeeded}
                        onChange={(event) =>
                          setAsked(({ [candidate.key]: _old, ...others }) =>
                            event.target.checked
                              ? { ...others, [candidate.key]: labelFor(candidate.input.name) }
                              : others,
                          )
                        }
                      />
                    </td>
                    <td>
                      <code>{candidate.key}</code>{' '}
                      <span className="muted">{candidate.input.type}</span>
                      <div className="muted small">
                        {isNeeded
                          ? 'no value of its own: always asked'
                          : `now ${candidate.input.type === 'password' || candidate.input.secret ? 'set (secret)' : `"${candidate.current}"`}`}
                      </div>
                    </td>
                    <td>
                      {isAsked && (
                        <input
                          aria-label={`Label of ${candidate.key}`}
                          value={chosen[candidate.key]}
                          maxLength={100}
                          onChange={(event) =>
                            setAsked({ ...asked, [candidate.key]: event.target.value })
                          }
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </fieldset>
  );
}

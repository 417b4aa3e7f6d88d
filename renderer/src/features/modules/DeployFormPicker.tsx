import { useEffect, useMemo, useState } from 'react';
import type { FormField } from '../../../../appliance/src/catalog/manifest.ts';
import type { ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { resolveNodes } from './deployment-check.ts';
import { deployedNodes, formCandidates, formFields, labelFor } from './publish-form.ts';
import { useReferencedModules } from './use-referenced-modules.ts';

const noModule: ModuleContent = { kind: 'deployment', nodes: [] };

/**
 * Which inputs the app's deploy form asks the operator for, and with which label. An input with
 * no value of its own is always asked (the run could not start without it); the others keep
 * their value unless chosen here, which then becomes the field's default.
 */
export function DeployFormPicker({
  path,
  version,
  onChange,
}: {
  path: string;
  version: number;
  onChange: (form: FormField[]) => void;
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
  const { loaded, isComplete } = useReferencedModules(nodes);
  const candidates = useMemo(
    () => (isComplete ? formCandidates(nodes, resolveNodes(nodes, loaded)) : []),
    [nodes, loaded, isComplete],
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
  useEffect(() => onChange(fields), [fields, onChange]);

  return (
    <fieldset className="deploy-form-picker">
      <legend>Deploy form</legend>
      <ErrorText error={error} />
      {!isComplete || content === null ? (
        !error && <p role="status">Looking up the inputs…</p>
      ) : candidates.length === 0 ? (
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

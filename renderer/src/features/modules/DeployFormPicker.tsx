import { useEffect, useMemo, useState } from 'react';
import {
  deployedNodes,
  formCandidates,
  formProblems,
} from '../../../../appliance/src/domain/deploy-form.ts';
import type { ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { resolveNodes } from './deployment-check.ts';
import {
  countField,
  formFields,
  labelFor,
  type AskedCount,
  type CloudChoice,
  type DeployFormChoice,
} from './publish-form.ts';
import { useReferencedModules } from './use-referenced-modules.ts';

const noModule: ModuleContent = { kind: 'deployment', nodes: [] };

/**
 * Which inputs the app's deploy form asks the operator for, and with which label. An input with
 * no value of its own is always asked (the run could not start without it); the others keep
 * their value unless chosen here, which then becomes the field's default. Per node, the form may
 * also ask how many instances (within bounds), and the node may be kept on the box. `onChange`
 * gets null until every image the version deploys is known and the form breaks none of the
 * publish rules (checked here by the box's own), so a partial or wrong form is never published.
 */
export function DeployFormPicker({
  path,
  version,
  onChange,
}: {
  path: string;
  version: number;
  onChange: (choice: DeployFormChoice | null) => void;
}) {
  const [content, setContent] = useState<ModuleContent | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [asked, setAsked] = useState<Record<string, string>>({});
  const [counts, setCounts] = useState<Record<string, AskedCount>>({});
  const [clouds, setClouds] = useState<Record<string, CloudChoice>>({});
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
  const fields = useMemo(
    () => [
      ...formFields(candidates, chosen),
      ...nodes.nodes.flatMap((node) => {
        const count = counts[node.name];
        return count ? [countField(node.name, node.multiplicity, count)] : [];
      }),
    ],
    [candidates, chosen, nodes, counts],
  );
  const problems = useMemo(
    () => (isReady ? formProblems(nodes, candidates, fields, clouds) : []),
    [isReady, nodes, candidates, fields, clouds],
  );
  useEffect(
    () => onChange(isReady && problems.length === 0 ? { form: fields, clouds } : null),
    [isReady, problems, fields, clouds, onChange],
  );
  const setCount = (node: string, change: Partial<AskedCount>) =>
    setCounts({ ...counts, [node]: { ...counts[node]!, ...change } });

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
      {isReady && nodes.nodes.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Nodes: instances and clouds">
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Instances</th>
                <th scope="col">Runs on</th>
              </tr>
            </thead>
            <tbody>
              {nodes.nodes.map((node) => {
                const count = counts[node.name];
                return (
                  <tr key={node.name}>
                    <td>
                      <code>{node.name}</code>
                    </td>
                    <td>
                      <label className="check">
                        <input
                          type="checkbox"
                          className="ask"
                          checked={count !== undefined}
                          onChange={(event) =>
                            setCounts(({ [node.name]: _old, ...others }) =>
                              event.target.checked
                                ? { ...others, [node.name]: { label: '', min: '1', max: '' } }
                                : others,
                            )
                          }
                        />
                        Ask how many (now {node.multiplicity})
                      </label>
                      {count && (
                        <div className="field-row">
                          <label>
                            Label
                            <input
                              value={count.label}
                              placeholder={`${labelFor(node.name)} instances`}
                              maxLength={100}
                              onChange={(event) =>
                                setCount(node.name, { label: event.target.value })
                              }
                            />
                          </label>
                          <label>
                            At least
                            <input
                              inputMode="numeric"
                              value={count.min}
                              onChange={(event) => setCount(node.name, { min: event.target.value })}
                            />
                          </label>
                          <label>
                            At most
                            <input
                              inputMode="numeric"
                              value={count.max}
                              placeholder="64"
                              onChange={(event) => setCount(node.name, { max: event.target.value })}
                            />
                          </label>
                        </div>
                      )}
                    </td>
                    <td>
                      <select
                        aria-label={`Where ${node.name} runs`}
                        value={clouds[node.name] ?? 'any'}
                        onChange={(event) =>
                          setClouds({ ...clouds, [node.name]: event.target.value as CloudChoice })
                        }
                      >
                        <option value="any">Any cloud the operator picks</option>
                        <option value="box">The box only</option>
                      </select>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {problems.length > 0 && (
        <ul className="error" role="alert" aria-label="Problems with the deploy form">
          {problems.map((problem) => (
            <li key={`${problem.field} ${problem.message}`}>
              {describeField(problem.field, fields)}: {problem.message}
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}

/** `form.3.max` as the person sees it: "web:instances, at most". */
function describeField(path: string, fields: readonly { key: string }[]): string {
  const [list, index, part] = path.split('.');
  if (list !== 'form') return path;
  const key = fields[Number(index)]?.key ?? path;
  const parts: Record<string, string> = {
    min: 'at least',
    max: 'at most',
    default: 'its value now',
  };
  return part && parts[part] ? `${key}, ${parts[part]}` : key;
}

import { useCallback, useId, useMemo } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import type {
  DeploymentContent,
  DeploymentNode,
  Mapping,
} from '../../../../appliance/src/domain/modules.ts';
import { callSafe } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import {
  checkDeployment,
  choiceOf,
  inputRows,
  outputChoices,
  problemsByField,
  resolveNodes,
  type InputRow,
  type MappingChoice,
} from './deployment-check.ts';
import { FieldProblem } from './FieldProblem.tsx';
import { wholeNumber } from './module-draft.ts';
import { useReferencedModules } from './use-referenced-modules.ts';
import { TextAreaField } from './TextAreaField.tsx';
import { useLiveList } from '../../app/use-live-list.ts';

type Cloud = RouteOutput<'listClouds'>[number];

/**
 * A deployment: its nodes (name, image, instances, failures tolerated, cloud) and where each
 * input of a node's image comes from. The draft is checked as it is typed with the rules the box
 * applies on save, each problem shown beside its field.
 */
export function DeploymentEditor({
  content,
  readOnly,
  imagePaths,
  onChange,
}: {
  content: DeploymentContent;
  readOnly: boolean;
  imagePaths: string[];
  onChange: (content: DeploymentContent) => void;
}) {
  const { loaded, isComplete, error: lookupError } = useReferencedModules(content);
  const images = useMemo(() => resolveNodes(content, loaded), [content, loaded]);
  const problems = useMemo(
    () => (isComplete ? checkDeployment(content, loaded) : []),
    [content, loaded, isComplete],
  );
  const byField = useMemo(() => problemsByField(problems), [problems]);
  const loadClouds = useCallback(() => callSafe('listClouds'), []);
  const { items: clouds, error: cloudsError } = useLiveList<Cloud>(
    loadClouds,
    (event) => event.subject.kind === 'cloud',
  );

  const setNode = (index: number, node: DeploymentNode | null) =>
    onChange({
      ...content,
      nodes:
        node === null
          ? content.nodes.filter((_, at) => at !== index)
          : content.nodes.map((old, at) => (at === index ? node : old)),
    });
  const addNode = () =>
    onChange({
      ...content,
      nodes: [
        ...content.nodes,
        {
          name: `node${content.nodes.length + 1}`,
          image: '',
          multiplicity: 1,
          cloud: null,
          maxFailures: 0,
          mappings: {},
        },
      ],
    });

  return (
    <div className="editor">
      <fieldset className="editor-section" disabled={readOnly}>
        <legend>Deployment</legend>
        <TextAreaField
          label="Description"
          value={content.description ?? ''}
          rows={2}
          onChange={(description) => onChange({ ...content, description })}
        />
      </fieldset>
      <datalist id="module-image-paths">
        {imagePaths.map((path) => (
          <option key={path} value={path} />
        ))}
      </datalist>
      <ErrorText error={cloudsError} />
      {content.nodes.map((node, index) => (
        <NodeEditor
          key={index}
          index={index}
          node={node}
          readOnly={readOnly}
          clouds={clouds}
          image={images[index]}
          outputs={outputChoices(content, images, index)}
          byField={byField}
          onChange={(next) => setNode(index, next)}
        />
      ))}
      {!readOnly && (
        <button type="button" className="secondary" onClick={addNode}>
          Add node
        </button>
      )}
      <div className={problems.length > 0 ? 'check-summary failed' : 'check-summary'} role="status">
        {!isComplete
          ? 'Looking up the images…'
          : problems.length === 0
            ? '✓ Every node resolves and every input is mapped.'
            : `✗ ${problems.length === 1 ? '1 problem' : `${problems.length} problems`} to fix before saving.`}
      </div>
      <ErrorText error={lookupError} />
      {byField.has('nodes') && <p className="error">{byField.get('nodes')!.join(' ')}</p>}
    </div>
  );
}

function NodeEditor({
  index,
  node,
  readOnly,
  clouds,
  image,
  outputs,
  byField,
  onChange,
}: {
  index: number;
  node: DeploymentNode;
  readOnly: boolean;
  clouds: Cloud[];
  image: ReturnType<typeof resolveNodes>[number] | undefined;
  outputs: string[];
  byField: Map<string, string[]>;
  onChange: (node: DeploymentNode | null) => void;
}) {
  const id = useId();
  const at = `nodes.${index}`;
  const field = (name: string) => {
    const messages = byField.get(`${at}.${name}`);
    return {
      messages,
      props: {
        id: `${id}-${name}`,
        'aria-invalid': messages !== undefined,
        'aria-describedby': messages ? `${id}-${name}-problem` : undefined,
      },
    };
  };
  const name = field('name');
  const imageField = field('image');
  const multiplicity = field('multiplicity');
  const maxFailures = field('maxFailures');
  const label = `Node ${node.name || index + 1}`;
  return (
    <fieldset className="editor-section node" disabled={readOnly} aria-label={label}>
      <legend>{label}</legend>
      <div className="field-row">
        <div className="field">
          <label htmlFor={name.props.id}>Name</label>
          <input
            value={node.name}
            spellCheck={false}
            {...name.props}
            onChange={(event) => onChange({ ...node, name: event.target.value })}
          />
          <FieldProblem id={`${name.props.id}-problem`} messages={name.messages} />
        </div>
        <div className="field wide">
          <label htmlFor={imageField.props.id}>Image</label>
          <input
            value={node.image}
            list="module-image-paths"
            spellCheck={false}
            placeholder="/project/image or /project/image@3"
            {...imageField.props}
            onChange={(event) => onChange({ ...node, image: event.target.value })}
          />
          <FieldProblem id={`${imageField.props.id}-problem`} messages={imageField.messages} />
        </div>
      </div>
      <div className="field-row">
        <div className="field">
          <label htmlFor={multiplicity.props.id}>Instances</label>
          <input
            type="number"
            min={0}
            max={64}
            step={1}
            value={Number.isFinite(node.multiplicity) ? node.multiplicity : ''}
            {...multiplicity.props}
            onChange={(event) =>
              onChange({ ...node, multiplicity: wholeNumber(event.target.value) ?? Number.NaN })
            }
          />
          <FieldProblem id={`${multiplicity.props.id}-problem`} messages={multiplicity.messages} />
        </div>
        <div className="field">
          <label htmlFor={maxFailures.props.id}>Failures tolerated</label>
          <input
            type="number"
            min={0}
            step={1}
            value={Number.isFinite(node.maxFailures) ? node.maxFailures : ''}
            {...maxFailures.props}
            onChange={(event) =>
              onChange({ ...node, maxFailures: wholeNumber(event.target.value) ?? Number.NaN })
            }
          />
          <FieldProblem id={`${maxFailures.props.id}-problem`} messages={maxFailures.messages} />
        </div>
        <label>
          Cloud
          <select
            value={node.cloud ?? ''}
            onChange={(event) => onChange({ ...node, cloud: event.target.value || null })}
          >
            <option value="">The box (default)</option>
            {clouds
              .filter((cloud) => !cloud.builtIn)
              .map((cloud) => (
                <option key={cloud.id} value={cloud.id}>
                  {cloud.name}
                  {cloud.status.reachable ? '' : ' (unreachable)'}
                </option>
              ))}
            {node.cloud && !clouds.some((cloud) => cloud.id === node.cloud) && (
              <option value={node.cloud}>{node.cloud} (unknown cloud)</option>
            )}
          </select>
        </label>
      </div>
      <MappingTable
        node={node}
        image={image}
        outputs={outputs}
        byField={byField}
        at={at}
        onChange={(mappings) => onChange({ ...node, mappings })}
      />
      {!readOnly && (
        <button type="button" className="danger" onClick={() => onChange(null)}>
          Remove node {node.name}
        </button>
      )}
    </fieldset>
  );
}

/** Where each input of the node's image comes from: its default, a value, or another node's output. */
function MappingTable({
  node,
  image,
  outputs,
  byField,
  at,
  onChange,
}: {
  node: DeploymentNode;
  image: ReturnType<typeof resolveNodes>[number] | undefined;
  outputs: string[];
  byField: Map<string, string[]>;
  at: string;
  onChange: (mappings: Record<string, Mapping>) => void;
}) {
  const id = useId();
  const rows = inputRows(image, node.mappings);
  if (typeof image === 'string' || image === undefined) {
    return <p className="muted">The inputs show once the image resolves.</p>;
  }
  if (rows.length === 0) return <p className="muted">The image has no inputs.</p>;
  const setMapping = (row: InputRow, mapping: Mapping | null) => {
    const { [row.name]: _old, ...others } = node.mappings;
    onChange(mapping === null ? others : { ...others, [row.name]: mapping });
  };
  return (
    <div className="table-scroll">
      <table className="mappings" aria-label={`Inputs of ${node.name}`}>
        <thead>
          <tr>
            <th scope="col">Input</th>
            <th scope="col">Comes from</th>
            <th scope="col">Value or output</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const choice = choiceOf(row.mapping);
            const messages = byField.get(`${at}.mappings.${row.name}`);
            const problemId = `${id}-${row.name}`;
            const invalid = {
              'aria-invalid': messages !== undefined,
              'aria-describedby': messages ? problemId : undefined,
            };
            return (
              <tr key={row.name} className={messages ? 'invalid' : undefined}>
                <th scope="row">
                  <code>{row.name}</code>
                  {row.input && <span className="muted"> {row.input.type}</span>}
                  {row.input?.description && (
                    <div className="muted small">{row.input.description}</div>
                  )}
                </th>
                <td>
                  <select
                    aria-label={`Source of ${node.name} input ${row.name}`}
                    value={choice}
                    {...invalid}
                    onChange={(event) => {
                      const next = event.target.value as MappingChoice;
                      setMapping(
                        row,
                        next === 'default'
                          ? null
                          : next === 'value'
                            ? { value: row.input?.default ?? '' }
                            : { output: outputs[0] ?? '' },
                      );
                    }}
                  >
                    <option value="default">
                      {row.input?.default !== undefined
                        ? `Default (${row.input.default || 'empty'})`
                        : row.input
                          ? 'Nothing (no default)'
                          : 'Remove this mapping'}
                    </option>
                    <option value="value">A value</option>
                    <option value="output">An output of another node</option>
                  </select>
                </td>
                <td>
                  {row.mapping && 'value' in row.mapping && (
                    <input
                      aria-label={`Value of ${node.name} input ${row.name}`}
                      value={row.mapping.value}
                      {...invalid}
                      onChange={(event) => setMapping(row, { value: event.target.value })}
                    />
                  )}
                  {row.mapping && 'output' in row.mapping && (
                    <select
                      aria-label={`Output for ${node.name} input ${row.name}`}
                      value={row.mapping.output}
                      {...invalid}
                      onChange={(event) => setMapping(row, { output: event.target.value })}
                    >
                      {!outputs.includes(row.mapping.output) && (
                        <option value={row.mapping.output}>
                          {row.mapping.output || 'choose an output'}
                        </option>
                      )}
                      {outputs.map((output) => (
                        <option key={output}>{output}</option>
                      ))}
                    </select>
                  )}
                  <FieldProblem id={problemId} messages={messages} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

import { useId, type ReactNode } from 'react';
import {
  parameterTypes,
  type ImageContent,
  type InputParameter,
  type OutputParameter,
  type Port,
} from '../../../../appliance/src/domain/modules.ts';
import { FieldProblem } from './FieldProblem.tsx';
import { splitList, wholeNumber } from './module-draft.ts';

type Lists = Pick<ImageContent, 'inputs' | 'outputs' | 'ports'>;

/** Replaces item `index` of a list (or removes it with `null`). */
function replaced<T>(list: readonly T[], index: number, item: T | null): T[] {
  return item === null
    ? list.filter((_, at) => at !== index)
    : list.map((old, at) => (at === index ? item : old));
}

/**
 * One list of an image (inputs, outputs or ports): a row of labelled fields per item, named
 * "Input 1", "Input 2"… for assistive technology, each with its remove button, and an add button.
 */
function ListSection<T extends { name: string }>({
  title,
  noun,
  hint,
  items,
  blank,
  onChange,
  fields,
  list,
  byField,
}: {
  title: string;
  noun: string;
  hint: ReactNode;
  items: readonly T[];
  blank: T;
  onChange: (items: T[]) => void;
  fields: (
    item: T,
    label: string,
    set: (item: T) => void,
    problems: (field: string) => string[] | undefined,
  ) => ReactNode;
  /** Where its items' problems are found: `inputs` gives `inputs.0.name`… */
  list: keyof Lists;
  byField: ReadonlyMap<string, string[]>;
}) {
  return (
    <fieldset className="editor-section">
      <legend>{title}</legend>
      <p className="hint">{hint}</p>
      {items.length === 0 && <p className="muted">No {title.toLowerCase()}.</p>}
      {items.map((item, index) => {
        const label = `${noun} ${index + 1}`;
        return (
          <div className="param-row" key={index} role="group" aria-label={label}>
            {fields(
              item,
              label,
              (next) => onChange(replaced(items, index, next)),
              (field) => byField.get(`${list}.${index}.${field}`),
            )}
            <button
              type="button"
              className="secondary"
              onClick={() => onChange(replaced(items, index, null))}
              aria-label={`Remove ${label.toLowerCase()} ${item.name}`}
            >
              Remove
            </button>
          </div>
        );
      })}
      <button type="button" className="secondary" onClick={() => onChange([...items, blank])}>
        Add {noun.toLowerCase()}
      </button>
    </fieldset>
  );
}

/** A text field of a list row, named after its row ("Input 1 name"). */
function TextField({
  label,
  field,
  value,
  onChange,
  className,
  placeholder,
  problems,
}: {
  label: string;
  field: string;
  value: string;
  onChange: (value: string) => void;
  className?: string;
  placeholder?: string;
  /** What the box's rules find wrong with it, shown beside it. */
  problems?: string[] | undefined;
}) {
  const problemId = useId();
  return (
    <label className={className}>
      {field}
      <input
        aria-label={`${label} ${field.toLowerCase()}`}
        value={value}
        placeholder={placeholder}
        aria-invalid={problems !== undefined}
        aria-describedby={problems ? problemId : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      <FieldProblem id={problemId} messages={problems} />
    </label>
  );
}

/** A port's number (NaN while empty or not a number, which the rules then name). */
function PortNumberField({
  label,
  value,
  problems,
  onChange,
}: {
  label: string;
  value: number;
  problems: string[] | undefined;
  onChange: (value: number) => void;
}) {
  const problemId = useId();
  return (
    <label>
      Number
      <input
        aria-label={`${label} number`}
        type="number"
        min={1}
        max={65535}
        value={Number.isFinite(value) ? value : ''}
        aria-invalid={problems !== undefined}
        aria-describedby={problems ? problemId : undefined}
        onChange={(event) => onChange(wholeNumber(event.target.value) ?? Number.NaN)}
      />
      <FieldProblem id={problemId} messages={problems} />
    </label>
  );
}

/** The secret checkbox of an input or output row. */
function SecretField({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}) {
  return (
    <label className="check">
      <input
        type="checkbox"
        aria-label={`${label} secret`}
        checked={checked}
        onChange={(event) => onChange(event.target.checked)}
      />
      Secret
    </label>
  );
}

/** An image's inputs (type, default, description, secret, enum options), outputs and ports. */
export function ParameterLists({
  content,
  byField,
  onChange,
}: {
  content: Lists;
  /** Problems by field (`inputs.0.default`), from the rules the box checks a save with. */
  byField: ReadonlyMap<string, string[]>;
  onChange: (change: Partial<Lists>) => void;
}) {
  return (
    <>
      <ListSection<InputParameter>
        title="Inputs"
        noun="Input"
        hint="A deployment maps each input without a default to another node's output or a value."
        items={content.inputs}
        blank={{ name: '', type: 'string' }}
        onChange={(inputs) => onChange({ inputs })}
        list="inputs"
        byField={byField}
        fields={(input, label, set, problems) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={input.name}
              onChange={(name) => set({ ...input, name })}
              problems={problems('name')}
            />
            <label>
              Type
              <select
                aria-label={`${label} type`}
                value={input.type}
                onChange={(event) =>
                  set({ ...input, type: event.target.value as InputParameter['type'] })
                }
              >
                {parameterTypes.map((type) => (
                  <option key={type}>{type}</option>
                ))}
              </select>
            </label>
            <TextField
              label={label}
              field="Default"
              value={input.default ?? ''}
              problems={problems('default')}
              placeholder="none"
              onChange={(value) => {
                const { default: _old, ...rest } = input;
                set(value === '' ? rest : { ...rest, default: value });
              }}
            />
            {input.type === 'enum' && (
              <TextField
                label={label}
                field="Options"
                value={(input.options ?? []).join(', ')}
                problems={problems('options')}
                placeholder="small, large"
                onChange={(value) => set({ ...input, options: splitList(value) })}
              />
            )}
            <TextField
              className="wide"
              label={label}
              field="Description"
              value={input.description ?? ''}
              onChange={(description) => set({ ...input, description })}
            />
            <SecretField
              label={label}
              checked={input.secret === true}
              onChange={(secret) => set({ ...input, secret })}
            />
          </>
        )}
      />
      <ListSection<OutputParameter>
        title="Outputs"
        noun="Output"
        hint="Set by the recipes with bivouac-set; other nodes' inputs can be mapped to them."
        items={content.outputs}
        blank={{ name: '' }}
        onChange={(outputs) => onChange({ outputs })}
        list="outputs"
        byField={byField}
        fields={(output, label, set, problems) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={output.name}
              onChange={(name) => set({ ...output, name })}
              problems={problems('name')}
            />
            <TextField
              className="wide"
              label={label}
              field="Description"
              value={output.description ?? ''}
              onChange={(description) => set({ ...output, description })}
            />
            <SecretField
              label={label}
              checked={output.secret === true}
              onChange={(secret) => set({ ...output, secret })}
            />
          </>
        )}
      />
      <ListSection<Port>
        title="Ports"
        noun="Port"
        hint="Ports the image serves; each is published and reported as url.<name>."
        items={content.ports}
        blank={{ name: 'http', port: 80, protocol: 'http' }}
        onChange={(ports) => onChange({ ports })}
        list="ports"
        byField={byField}
        fields={(port, label, set, problems) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={port.name}
              onChange={(name) => set({ ...port, name })}
              problems={problems('name')}
            />
            <PortNumberField
              label={label}
              value={port.port}
              problems={problems('port')}
              onChange={(number) => set({ ...port, port: number })}
            />
            <label>
              Protocol
              <select
                aria-label={`${label} protocol`}
                value={port.protocol}
                onChange={(event) =>
                  set({ ...port, protocol: event.target.value as Port['protocol'] })
                }
              >
                <option>http</option>
                <option>https</option>
                <option>tcp</option>
              </select>
            </label>
          </>
        )}
      />
    </>
  );
}

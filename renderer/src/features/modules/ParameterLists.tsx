import type { ReactNode } from 'react';
import {
  parameterTypes,
  type ImageContent,
  type InputParameter,
  type OutputParameter,
  type Port,
} from '../../../../appliance/src/domain/modules.ts';
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
}: {
  title: string;
  noun: string;
  hint: ReactNode;
  items: readonly T[];
  blank: T;
  onChange: (items: T[]) => void;
  fields: (item: T, label: string, set: (item: T) => void) => ReactNode;
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
            {fields(item, label, (next) => onChange(replaced(items, index, next)))}
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
}: {
  label: string;
  field: string;
  value: string;
  onChange: (value: string) => void;
  className?: string;
  placeholder?: string;
}) {
  return (
    <label className={className}>
      {field}
      <input
        aria-label={`${label} ${field.toLowerCase()}`}
        value={value}
        placeholder={placeholder}
        onChange={(event) => onChange(event.target.value)}
      />
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
  onChange,
}: {
  content: Lists;
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
        fields={(input, label, set) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={input.name}
              onChange={(name) => set({ ...input, name })}
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
        fields={(output, label, set) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={output.name}
              onChange={(name) => set({ ...output, name })}
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
        fields={(port, label, set) => (
          <>
            <TextField
              label={label}
              field="Name"
              value={port.name}
              onChange={(name) => set({ ...port, name })}
            />
            <label>
              Number
              <input
                aria-label={`${label} number`}
                type="number"
                min={1}
                max={65535}
                value={Number.isFinite(port.port) ? port.port : ''}
                onChange={(event) =>
                  set({ ...port, port: wholeNumber(event.target.value) ?? Number.NaN })
                }
              />
            </label>
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

import { useCallback, useState } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import {
  defaultResources,
  recipeNames,
  type ImageContent,
  type RecipeName,
  type Resources,
} from '../../../../appliance/src/domain/modules.ts';
import { call } from '../../api/client.ts';
import { useLiveLoad } from '../runs/live.ts';
import { CodeEditor } from './CodeEditor.tsx';
import { splitList, wholeNumber } from './module-draft.ts';
import { ParameterLists } from './ParameterLists.tsx';
import { TextAreaField } from './TextAreaField.tsx';

type BaseImage = RouteOutput<'listImages'>[number];

/** When each recipe runs, shown beside its editor. */
const recipeHelp: Record<RecipeName, string> = {
  preInstall: 'First, before the packages are installed.',
  postInstall: 'After the packages are installed.',
  migrate: 'Only in a run that upgrades another; it is told the old run.',
  deploy: 'Configures and starts the service; sets the outputs with bivouac-set.',
  report: 'Collects what the run reports before it is Ready.',
  onNodeAdd: 'On the other instances when a node grows.',
  onNodeRemove: 'On the other instances when a node shrinks.',
};

const resourceFields: { key: keyof Resources; label: string; min: number }[] = [
  { key: 'vcpu', label: 'vCPU', min: 1 },
  { key: 'memoryMiB', label: 'Memory (MiB)', min: 96 },
  { key: 'diskGiB', label: 'Disk (GiB)', min: 1 },
];

/**
 * An image: what it inherits from, the base image it boots, its size, packages, parameters,
 * ports and recipes (each in a shell editor). Empty fields are inherited from the parent or
 * take the box's defaults.
 */
export function ImageEditor({
  content,
  readOnly,
  imagePaths,
  onChange,
}: {
  content: ImageContent;
  readOnly: boolean;
  /** Other images, offered as parents. */
  imagePaths: string[];
  onChange: (content: ImageContent) => void;
}) {
  const [images, setImages] = useState<BaseImage[]>([]);
  const load = useCallback(async () => setImages(await call('listImages')), []);
  useLiveLoad(load, (event) => event.subject.kind === 'image');
  const change = (part: Partial<ImageContent>) => onChange({ ...content, ...part });
  const native = content.nativeImages.libvirt?.imageId ?? '';
  const isKnownImage =
    native === '' || images.some((image) => image.name === native || image.id === native);

  return (
    <div className="editor">
      <fieldset className="editor-section" disabled={readOnly}>
        <legend>Image</legend>
        <TextAreaField
          label="Description"
          value={content.description ?? ''}
          rows={2}
          onChange={(description) => change({ description })}
        />
        <label>
          Parent image
          <input
            value={content.parent ?? ''}
            list="module-image-paths"
            placeholder="none, or /project/image (latest) or /project/image@3"
            spellCheck={false}
            onChange={(event) =>
              change({ parent: event.target.value === '' ? null : event.target.value })
            }
          />
        </label>
        <datalist id="module-image-paths">
          {imagePaths.map((path) => (
            <option key={path} value={path} />
          ))}
        </datalist>
        <label>
          Base image (libvirt)
          <select
            value={native}
            onChange={(event) => {
              const { libvirt: _old, ...others } = content.nativeImages;
              change({
                nativeImages: event.target.value
                  ? { ...others, libvirt: { imageId: event.target.value } }
                  : others,
              });
            }}
          >
            <option value="">{content.parent ? 'Inherited from the parent' : 'None chosen'}</option>
            {images.map((image) => (
              <option key={image.id} value={image.name} disabled={image.status !== 'ready'}>
                {image.name} ({image.kind}
                {image.status !== 'ready' ? `, ${image.status}` : ''})
              </option>
            ))}
            {!isKnownImage && <option value={native}>{native} (not in the image store)</option>}
          </select>
        </label>
        <div className="field-row">
          {resourceFields.map((field) => (
            <label key={field.key}>
              {field.label}
              <input
                type="number"
                min={field.min}
                step={1}
                value={content.resources?.[field.key] ?? ''}
                placeholder={content.parent ? 'inherited' : String(defaultResources[field.key])}
                onChange={(event) => {
                  const { [field.key]: _old, ...others } = content.resources ?? {};
                  const value = wholeNumber(event.target.value);
                  change({
                    resources: value === undefined ? others : { ...others, [field.key]: value },
                  });
                }}
              />
            </label>
          ))}
        </div>
        <label>
          Packages
          <input
            value={(content.packages ?? []).join(' ')}
            placeholder="nginx curl (installed between preInstall and postInstall)"
            spellCheck={false}
            onChange={(event) => change({ packages: splitList(event.target.value) })}
          />
        </label>
      </fieldset>

      <fieldset className="editor-section-group" disabled={readOnly}>
        <ParameterLists content={content} onChange={change} />
      </fieldset>

      <section className="editor-section recipes" aria-labelledby="recipes-title">
        <h3 id="recipes-title">Recipes</h3>
        <p className="hint">
          Shell scripts run in this order on each VM; they read inputs with bivouac-get, write
          outputs with bivouac-set and stop the run with bivouac-abort.
        </p>
        {recipeNames.map((name) => {
          const script = content.recipes[name] ?? '';
          return (
            <details key={name} className="recipe" open={script !== '' || name === 'deploy'}>
              <summary>
                <code>{name}</code> <span className="muted">{recipeHelp[name]}</span>
                {script !== '' && <span className="badge">{script.split('\n').length} lines</span>}
              </summary>
              <CodeEditor
                value={script}
                label={`${name} recipe`}
                readOnly={readOnly}
                onChange={(text) => change({ recipes: { ...content.recipes, [name]: text } })}
              />
            </details>
          );
        })}
      </section>
    </div>
  );
}

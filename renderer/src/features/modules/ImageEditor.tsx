import { useCallback, useEffect, useMemo, useState } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { validateImage } from '../../../../appliance/src/domain/module-validation.ts';
import {
  defaultResources,
  recipeNames,
  type ImageContent,
  type RecipeName,
  type Resources,
} from '../../../../appliance/src/domain/modules.ts';
import { callSafe } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { CodeEditor } from './CodeEditor.tsx';
import { problemsByField } from './deployment-check.ts';
import { splitList, wholeNumber } from './module-draft.ts';
import { ParameterLists } from './ParameterLists.tsx';
import { TextAreaField } from './TextAreaField.tsx';
import { useLiveList } from '../../app/use-live-list.ts';

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
  const loadImages = useCallback(() => callSafe('listImages'), []);
  const { items: images, error: imagesError } = useLiveList<BaseImage>(
    loadImages,
    (event) => event.subject.kind === 'image',
  );
  const change = (part: Partial<ImageContent>) => onChange({ ...content, ...part });
  // The box's own rules for parameters, so the page and the save cannot disagree.
  const problems = useMemo(() => problemsByField(validateImage(content)), [content]);
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
        <ErrorText error={imagesError} />
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
        <ParameterLists content={content} byField={problems} onChange={change} />
      </fieldset>

      <section className="editor-section recipes" aria-labelledby="recipes-title">
        <h3 id="recipes-title">Recipes</h3>
        <p className="hint">
          Shell scripts run in this order on each VM; they read inputs with bivouac-get, write
          outputs with bivouac-set and stop the run with bivouac-abort.
        </p>
        {recipeNames.map((name) => (
          <RecipeSection
            key={name}
            name={name}
            script={content.recipes[name] ?? ''}
            readOnly={readOnly}
            onChange={(text) => change({ recipes: { ...content.recipes, [name]: text } })}
          />
        ))}
      </section>
    </div>
  );
}

/**
 * One recipe, folded unless it has a script (deploy always starts open). Its editor is mounted
 * only while it is open; the script lives in the draft, so folding loses nothing. A script that
 * arrives with a newer version opens it.
 */
function RecipeSection({
  name,
  script,
  readOnly,
  onChange,
}: {
  name: RecipeName;
  script: string;
  readOnly: boolean;
  onChange: (text: string) => void;
}) {
  const hasScript = script !== '';
  const [isOpen, setOpen] = useState(hasScript || name === 'deploy');
  useEffect(() => {
    if (hasScript) setOpen(true);
  }, [hasScript]);
  return (
    <details
      className="recipe"
      open={isOpen}
      onToggle={(event) => setOpen(event.currentTarget.open)}
    >
      <summary>
        <code>{name}</code> <span className="muted">{recipeHelp[name]}</span>
        {hasScript && <span className="badge">{script.split('\n').length} lines</span>}
      </summary>
      {isOpen && (
        <CodeEditor
          value={script}
          label={`${name} recipe`}
          readOnly={readOnly}
          onChange={onChange}
        />
      )}
    </details>
  );
}

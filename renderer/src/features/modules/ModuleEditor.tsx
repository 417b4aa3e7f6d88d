import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import type { ModuleContent } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { DeploymentEditor } from './DeploymentEditor.tsx';
import { ImageEditor } from './ImageEditor.tsx';
import { editable, forSave } from './module-draft.ts';
import type { ModuleSummary } from './module-tree.ts';
import { modulePageUrl } from './module-urls.ts';
import { ProblemList } from './ProblemList.tsx';
import { TextAreaField } from './TextAreaField.tsx';

export type ModuleView = RouteOutput<'getModule'>;

/**
 * The editor of one module: a draft of its document, the editor for its kind, and a save with a
 * message that makes the next version. A version saved elsewhere replaces an untouched draft and
 * is announced over a changed one.
 */
export function ModuleEditor({
  path,
  module,
  initial,
  readOnly,
  modules,
  onSaved,
}: {
  path: string;
  /** The version shown; null for a module not saved yet. */
  module: ModuleView | null;
  /** The document a new module starts from. */
  initial: ModuleContent;
  readOnly: boolean;
  modules: readonly ModuleSummary[];
  /** Told of each version saved here, so the page shows it without waiting for the event. */
  onSaved: (saved: ModuleView) => void;
}) {
  const navigate = useNavigate();
  const base = module ? editable(module.content as ModuleContent) : initial;
  const [draft, setDraft] = useState<ModuleContent>(base);
  const [isDirty, setDirty] = useState(false);
  const [message, setMessage] = useState('');
  const [isSaving, setSaving] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState<number | null>(null);
  /** The version the draft started from. */
  const [baseVersion, setBaseVersion] = useState(module?.version ?? 0);
  const imagePaths = useMemo(
    () =>
      modules
        .filter((candidate) => candidate.kind === 'image' && candidate.path !== path)
        .map((candidate) => candidate.path),
    [modules, path],
  );

  // Another version arrived (saved here or elsewhere): an untouched draft follows it.
  useEffect(() => {
    if (!module || isDirty || module.version === baseVersion) return;
    setBaseVersion(module.version);
    setDraft(editable(module.content as ModuleContent));
  }, [module, isDirty, baseVersion]);

  const change = (content: ModuleContent) => {
    setDraft(content);
    setDirty(true);
    setSaved(null);
  };

  async function save(event: FormEvent) {
    event.preventDefault();
    setSaving(true);
    const result = await callSafe('saveModule', {
      query: { path },
      body: { content: forSave(draft), message: message.trim() },
    });
    setSaving(false);
    if (!result.ok) {
      setError(result.error);
      return;
    }
    setError(null);
    setMessage('');
    setDirty(false);
    setBaseVersion(result.value.version);
    setDraft(editable(result.value.content as ModuleContent));
    setSaved(result.value.version);
    onSaved(result.value);
    if (!module) navigate(modulePageUrl(path), { replace: true });
  }

  const isBehind = module !== null && isDirty && module.version > baseVersion;
  return (
    <div>
      {draft.kind === 'image' && (
        <ImageEditor
          content={draft}
          readOnly={readOnly}
          imagePaths={imagePaths}
          onChange={change}
        />
      )}
      {draft.kind === 'deployment' && (
        <DeploymentEditor
          content={draft}
          readOnly={readOnly}
          imagePaths={imagePaths}
          onChange={change}
        />
      )}
      {draft.kind === 'project' && (
        <fieldset className="editor-section" disabled={readOnly}>
          <legend>Project</legend>
          <TextAreaField
            label="Description"
            value={draft.description ?? ''}
            rows={3}
            onChange={(description) => change({ ...draft, description })}
          />
          <p className="hint">
            A project holds images, deployments and other projects; new modules in it start with its
            sharing rules.
          </p>
        </fieldset>
      )}
      {!readOnly && (
        <form
          className="save-bar"
          onSubmit={(event) => void save(event)}
          aria-label="Save a version"
        >
          <label>
            What changed
            <input
              value={message}
              onChange={(event) => setMessage(event.target.value)}
              required
              maxLength={500}
              placeholder={module ? 'e.g. start nginx on port 8080' : 'e.g. first version'}
            />
          </label>
          <button type="submit" disabled={isSaving || message.trim() === ''}>
            {isSaving
              ? 'Saving…'
              : module
                ? `Save version ${module.latestVersion + 1}`
                : 'Save version 1'}
          </button>
          <span role="status" className="saved">
            {saved !== null ? `✓ Version ${saved} saved.` : isDirty ? 'Unsaved changes.' : ''}
          </span>
        </form>
      )}
      {isBehind && (
        <p className="banner" role="status">
          Version {module.version} was saved meanwhile; saving makes version {module.version + 1}{' '}
          from your draft, replacing what it changed.
        </p>
      )}
      <ErrorText error={error} />
      <ProblemList error={error} />
    </div>
  );
}

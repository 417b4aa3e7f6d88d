import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { ModuleKind } from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { newModulePath } from './module-draft.ts';
import { parentPath, projectFor, type ModuleSummary } from './module-tree.ts';
import { modulePageUrl, pathFromSplat } from './module-urls.ts';
import { ModuleDetail } from './ModuleDetail.tsx';
import { ModuleTree } from './ModuleTree.tsx';
import { useModules } from './modules-store.ts';
import './modules.css';
import './module-panels.css';

/** The Modules workspace: the project tree beside the open module; both follow the event stream. */
export function ModulesPage() {
  const params = useParams();
  const path = pathFromSplat(params['*']);
  const modules = useModules((state) => state.modules);
  const error = useModules((state) => state.error);
  const loadTree = useModules((state) => state.loadTree);
  const reveal = useModules((state) => state.reveal);
  const role = useApp((state) => state.session?.user.role);
  useLiveLoad(loadTree, (event) => event.subject.kind === 'module');
  useEffect(() => {
    if (path) reveal(path);
  }, [path, reveal]);

  return (
    <section aria-labelledby="modules-title">
      <h1 id="modules-title">Modules</h1>
      <div className="modules-layout">
        <aside className="panel tree-panel" aria-label="Project tree">
          <ErrorText error={error} />
          {modules === null ? (
            <p role="status">Loading…</p>
          ) : (
            <ModuleTree modules={modules} selected={path} />
          )}
          {role !== 'viewer' && modules !== null && (
            <NewModuleForm project={newModuleProject(modules, path)} />
          )}
        </aside>
        <div className="module-main">
          {path ? (
            <ModuleDetail key={path} path={path} modules={modules ?? []} />
          ) : (
            <div className="panel">
              <h2>Projects, images and deployments</h2>
              <p>
                An <strong>image</strong> is one kind of VM: a base image, its size, its parameters
                and the recipes that set it up. A <strong>deployment</strong> wires nodes of images
                together, mapping each node&apos;s inputs to other nodes&apos; outputs.{' '}
                <strong>Projects</strong> hold them. Every save is a new version; an administrator
                publishes a version to the App Store.
              </p>
              <p className="muted">
                Pick a module in the tree{role !== 'viewer' ? ', or create one' : ''}.
              </p>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}

/** Where a new module goes: the open project, the project of the open module or draft, else the top. */
function newModuleProject(modules: readonly ModuleSummary[], path: string | null): string | null {
  if (path === null) return null;
  const open = modules.find((module) => module.path === path);
  return open ? projectFor(open) : parentPath(path);
}

/**
 * Creates a module in the selected project (or at the top): a project is saved at once; an image
 * or a deployment opens as a draft whose first save makes version 1.
 */
function NewModuleForm({ project }: { project: string | null }) {
  const navigate = useNavigate();
  const [kind, setKind] = useState<ModuleKind>('project');
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    const target = newModulePath(project, name.trim());
    if ('problem' in target) {
      setProblem(target.problem);
      return;
    }
    setProblem(null);
    if (kind !== 'project') {
      setName('');
      navigate(`${modulePageUrl(target.path)}?new=${kind}`);
      return;
    }
    const result = await callSafe('saveModule', {
      query: { path: target.path },
      body: { content: { kind: 'project' }, message: 'New project' },
    });
    setError(result.ok ? null : result.error);
    if (result.ok) {
      setName('');
      navigate(modulePageUrl(target.path));
    }
  }
  return (
    <form
      className="new-module"
      onSubmit={(event) => void create(event)}
      aria-labelledby="new-module-title"
    >
      <h2 id="new-module-title">New module</h2>
      <p className="muted">In {project ? <code>{project}</code> : 'the top level'}</p>
      <label>
        Kind
        <select value={kind} onChange={(event) => setKind(event.target.value as ModuleKind)}>
          <option value="project">Project</option>
          <option value="image">Image</option>
          <option value="deployment">Deployment</option>
        </select>
      </label>
      <label>
        Name
        <input
          value={name}
          onChange={(event) => setName(event.target.value)}
          required
          spellCheck={false}
          autoCapitalize="none"
          placeholder="lowercase-name"
          aria-invalid={problem !== null}
          aria-describedby={problem ? 'new-module-problem' : undefined}
        />
      </label>
      {problem && (
        <p id="new-module-problem" className="error">
          {problem}
        </p>
      )}
      <button type="submit">Create</button>
      <ErrorText error={error} />
    </form>
  );
}

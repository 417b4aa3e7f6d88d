import { useCallback, useMemo, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { canAccess } from '../../../../appliance/src/domain/access.ts';
import {
  moduleKinds,
  type ModuleContent,
  type ModuleKind,
} from '../../../../appliance/src/domain/modules.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { latestWins } from '../../api/latest.ts';
import { useApp } from '../../app/store.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveLoad } from '../../app/live.ts';
import { SharingPanel } from '../../app/SharingPanel.tsx';
import { useUserNames } from '../../app/use-user-names.ts';
import { blankContent } from './module-draft.ts';
import { parentPath, type ModuleSummary } from './module-tree.ts';
import { modulePageUrl } from './module-urls.ts';
import { ModuleEditor, type ModuleView } from './ModuleEditor.tsx';
import { ModuleHistory } from './ModuleHistory.tsx';
import { PublishPanel } from './PublishPanel.tsx';
import { YamlPanel } from './YamlPanel.tsx';

const views = ['edit', 'history', 'publish', 'sharing', 'yaml'] as const;
type View = (typeof views)[number];

/**
 * One module's page: its editor (read-only for who may not edit it, and for older versions),
 * its history and diffs, publishing for administrators, sharing for who manages it, and delete.
 * A module that does not exist yet opens as an unsaved draft when the URL asks for a new one.
 */
export function ModuleDetail({
  path,
  modules,
}: {
  path: string;
  modules: readonly ModuleSummary[];
}) {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const session = useApp((state) => state.session);
  const names = useUserNames();
  const asked = Number(search.get('version'));
  const version = Number.isInteger(asked) && asked > 0 ? asked : null;
  const view: View = views.find((candidate) => candidate === search.get('view')) ?? 'edit';
  const newKind = moduleKinds.find((kind) => kind === search.get('new')) ?? null;
  const [module, setModule] = useState<ModuleView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [isDeleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);

  // Switching ?version= quickly: only the answer for the version asked last is shown.
  const requests = useMemo(() => latestWins<'module'>(), []);
  const load = useCallback(async () => {
    const isLatest = requests.start('module');
    const result = await callSafe('getModule', {
      query: { ref: version === null ? path : `${path}@${version}` },
    });
    if (!isLatest()) return;
    setModule(result.ok ? result.value : null);
    setError(result.ok ? null : result.error);
  }, [path, version, requests]);
  useLiveLoad(load, (event) => event.subject.kind === 'module' && event.subject.id === path);

  const subject = session ? { userId: session.user.id, role: session.user.role } : null;
  const may = (action: 'edit' | 'manage') =>
    module && subject ? canAccess(subject, module, action) : false;
  const isDraft = module === null && newKind !== null && error?.code === 'NOT_FOUND';

  async function remove() {
    setDeleting(false);
    const result = await callSafe('deleteModule', { query: { path } });
    setDeleteError(result.ok ? null : result.error);
    if (result.ok) navigate(modulePageUrl(parentPath(path) ?? ''), { replace: true });
  }

  if (!module && !isDraft) {
    return (
      <article aria-labelledby="module-title">
        <h2 id="module-title">{path}</h2>
        {error ? <ErrorText error={error} /> : <p role="status">Loading…</p>}
      </article>
    );
  }

  const isOld = module !== null && module.version !== module.latestVersion;
  const mayEdit = isDraft || (may('edit') && !isOld);
  const tab = (name: View, label: string) => (
    <Link
      to={name === 'edit' ? '?' : `?view=${name}`}
      aria-current={view === name ? 'page' : undefined}
      className="tab"
    >
      {label}
    </Link>
  );
  // One tree for the draft and the saved module, so the editor stays mounted through the first save.
  return (
    <article aria-labelledby="module-title">
      <ModuleHeading
        path={path}
        kind={module?.kind ?? newKind!}
        note={
          module ? `version ${module.version} of ${module.latestVersion}` : 'new, not saved yet'
        }
      />
      {module && (
        <p className="muted module-meta">
          Owner {names.get(module.owner) ?? module.owner} · last saved by{' '}
          {names.get(module.author) ?? module.author}, {new Date(module.time).toLocaleString()}: “
          {module.message}”
        </p>
      )}
      {module && (
        <div className="module-bar">
          <nav className="tabs" aria-label="Module views">
            {tab('edit', isOld ? `Version ${module.version}` : mayEdit ? 'Edit' : 'View')}
            {tab('history', 'History')}
            {session?.user.role === 'admin' &&
              module.kind !== 'project' &&
              tab('publish', 'Publish')}
            {may('manage') && tab('sharing', 'Sharing')}
            {tab('yaml', 'YAML')}
          </nav>
          {may('manage') && (
            <button type="button" className="danger" onClick={() => setDeleting(true)}>
              Delete
            </button>
          )}
        </div>
      )}
      <ErrorText error={deleteError} />
      {isOld && view === 'edit' && (
        <p className="banner" role="status">
          An older version, read only.{' '}
          <Link to="?">Open the latest (version {module.latestVersion})</Link>
        </p>
      )}
      {module && !isOld && !mayEdit && view === 'edit' && (
        <p className="banner" role="status">
          Read only: you may view this module but not change it.
        </p>
      )}
      {(isDraft || view === 'edit') && (
        <ModuleEditor
          key={`${path}@${isOld ? module.version : 'latest'}`}
          path={path}
          module={module}
          initial={blankContent(module?.kind ?? newKind!)}
          readOnly={!mayEdit}
          modules={modules}
          onSaved={(saved) => {
            setModule(saved);
            setError(null);
          }}
        />
      )}
      {module && view === 'history' && <ModuleHistory path={path} />}
      {module && view === 'publish' && (
        <PublishPanel
          path={path}
          latestVersion={module.latestVersion}
          description={(module.content as ModuleContent).description ?? ''}
        />
      )}
      {module && view === 'sharing' && (
        <SharingPanel
          acl={module.acl}
          note="New modules in a project start with the project's rules."
          save={(acl, expected) =>
            callSafe('setModuleAcl', { query: { path }, body: { acl, expected } })
          }
        />
      )}
      {module && view === 'yaml' && (
        <YamlPanel path={path} mayImport={session?.user.role !== 'viewer'} />
      )}
      {isDeleting && (
        <Confirm
          open
          title={`Delete ${path}?`}
          message="The module leaves the tree; its versions stay for the runs that used them. A project must be empty first."
          action="Delete"
          onConfirm={() => void remove()}
          onCancel={() => setDeleting(false)}
        />
      )}
    </article>
  );
}

function ModuleHeading({ path, kind, note }: { path: string; kind: ModuleKind; note: string }) {
  return (
    <h2 id="module-title" className="module-title">
      <code>{path}</code> <span className={`badge kind-${kind}`}>{kind}</span>{' '}
      <small className="muted">{note}</small>
    </h2>
  );
}

import { Fragment, useState, type FormEvent } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { passwordMinLength } from '../../../../appliance/src/domain/users.ts';
import { callSafe, type ApiError, type Result } from '../../api/client.ts';
import type { LiveEvent } from '../../api/events.ts';
import { useApp } from '../../app/store.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useLiveList } from '../../app/use-live-list.ts';
import { QuotaEditor } from './QuotaEditor.tsx';
import { describeQuota, type QuotaBody } from './quota-form.ts';

type User = RouteOutput<'listUsers'>[number];
type Token = RouteOutput<'listTokens'>[number];
type Capacity = RouteOutput<'getCapacity'>;
const roles = ['admin', 'operator', 'viewer'] as const;

/** Users (administrators manage everyone) and your own API tokens. */
export function UsersPage() {
  const session = useApp((state) => state.session)!;
  const isAdmin = session.user.role === 'admin';
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      {isAdmin && <UserAdmin selfId={session.user.id} />}
      <Tokens />
    </section>
  );
}

const fetchUsers = () => callSafe('listUsers');
const fetchTokens = () => callSafe('listTokens');
const fetchQuotas = async (): Promise<Result<Capacity['users']>> => {
  const result = await callSafe('getCapacity');
  return result.ok ? { ok: true, value: result.value.users } : result;
};
const isAbout = (kind: string) => (event: LiveEvent) => event.subject.kind === kind;
const aboutUsers = isAbout('user');
const aboutTokens = isAbout('token');
const aboutCapacity = isAbout('capacity');

function UserAdmin({ selfId }: { selfId: string }) {
  const { items: users, error: loadError, reload: load } = useLiveList(fetchUsers, aboutUsers);
  const { items: quotas, error: quotaError } = useLiveList(fetchQuotas, aboutCapacity);
  const [editingQuota, setEditingQuota] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [form, setForm] = useState({
    username: '',
    password: '',
    role: 'operator' as (typeof roles)[number],
  });
  const [deleting, setDeleting] = useState<User | null>(null);
  const quotaOf = (user: User) => quotas.find((entry) => entry.userId === user.id)?.quota ?? {};

  async function create(event: FormEvent) {
    event.preventDefault();
    const result = await callSafe('createUser', { body: form });
    setError(result.ok ? null : result.error);
    if (result.ok) {
      setForm({ username: '', password: '', role: 'operator' });
      await load();
    }
  }
  async function setRole(user: User, role: (typeof roles)[number]) {
    const result = await callSafe('updateUser', { params: { id: user.id }, body: { role } });
    setError(result.ok ? null : result.error);
    await load();
  }
  async function saveQuota(user: User, quota: QuotaBody): Promise<ApiError | null> {
    const result = await callSafe('setQuota', { params: { id: user.id }, body: quota });
    if (result.ok) setEditingQuota(null);
    return result.ok ? null : result.error;
  }
  async function remove(user: User) {
    setDeleting(null);
    const result = await callSafe('deleteUser', { params: { id: user.id } });
    setError(result.ok ? null : result.error);
    await load();
  }

  return (
    <div className="panel">
      <h2>People on this box</h2>
      <ErrorText error={loadError ?? quotaError} />
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Quota</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <Fragment key={user.id}>
              <tr>
                <td>{user.username}</td>
                <td>
                  <select
                    aria-label={`Role of ${user.username}`}
                    value={user.role}
                    onChange={(event) => void setRole(user, event.target.value as User['role'])}
                    disabled={user.id === selfId}
                  >
                    {roles.map((role) => (
                      <option key={role}>{role}</option>
                    ))}
                  </select>
                </td>
                <td>
                  {describeQuota(quotaOf(user))}{' '}
                  <button
                    type="button"
                    className="secondary"
                    aria-expanded={editingQuota === user.id}
                    aria-label={`Quota of ${user.username}`}
                    onClick={() => setEditingQuota(editingQuota === user.id ? null : user.id)}
                  >
                    Edit
                  </button>
                </td>
                <td>
                  {user.id !== selfId && (
                    <button type="button" className="danger" onClick={() => setDeleting(user)}>
                      Delete
                    </button>
                  )}
                </td>
              </tr>
              {editingQuota === user.id && (
                <tr>
                  <td colSpan={4}>
                    <QuotaEditor
                      username={user.username}
                      quota={quotaOf(user)}
                      onSave={(quota) => saveQuota(user, quota)}
                      onCancel={() => setEditingQuota(null)}
                    />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={create} aria-label="New user">
        <label>
          Name
          <input
            value={form.username}
            onChange={(event) => setForm({ ...form, username: event.target.value })}
            required
          />
        </label>
        <label>
          Password
          <input
            type="password"
            value={form.password}
            onChange={(event) => setForm({ ...form, password: event.target.value })}
            autoComplete="new-password"
            required
            minLength={passwordMinLength}
          />
        </label>
        <label>
          Role
          <select
            value={form.role}
            onChange={(event) => setForm({ ...form, role: event.target.value as User['role'] })}
          >
            {roles.map((role) => (
              <option key={role}>{role}</option>
            ))}
          </select>
        </label>
        <button type="submit">Add user</button>
      </form>
      <ErrorText error={error} />
      <Confirm
        open={deleting !== null}
        title="Delete user?"
        message={`${deleting?.username ?? ''} will no longer be able to sign in. Their runs stay.`}
        action="Delete user"
        onConfirm={() => deleting && void remove(deleting)}
        onCancel={() => setDeleting(null)}
      />
    </div>
  );
}

function Tokens() {
  const { items: tokens, error: loadError, reload: load } = useLiveList(fetchTokens, aboutTokens);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  async function create(event: FormEvent) {
    event.preventDefault();
    const result = await callSafe('createToken', { body: { name } });
    setError(result.ok ? null : result.error);
    if (result.ok) {
      setCreated(result.value.token);
      setName('');
      await load();
    }
  }
  async function revoke(token: Token) {
    setRevoking(null);
    const result = await callSafe('revokeToken', { params: { id: token.id } });
    setError(result.ok ? null : result.error);
    await load();
  }

  return (
    <div className="panel">
      <h2>Your API tokens</h2>
      <ErrorText error={loadError} />
      <p>
        For the CLI and scripts: send <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      <ul className="list">
        {tokens.map((token) => (
          <li key={token.id}>
            <span>{token.name}</span>{' '}
            <small>created {new Date(token.createdAt).toLocaleString()}</small>
            <button type="button" className="danger" onClick={() => setRevoking(token)}>
              Revoke
            </button>
          </li>
        ))}
        {tokens.length === 0 && <li>No tokens yet.</li>}
      </ul>
      <form className="inline" onSubmit={create} aria-label="New API token">
        <label>
          Token name
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            required
            maxLength={64}
          />
        </label>
        <button type="submit">Create token</button>
      </form>
      {created && (
        <div className="notice" role="status">
          <p>
            <strong>Copy this token now.</strong> It is shown only once; the box keeps only a hash
            of it.
          </p>
          <code className="secret" data-testid="new-token">
            {created}
          </code>
          <div className="actions">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(created)}>
              Copy
            </button>
            <button type="button" className="secondary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <ErrorText error={error} />
      <Confirm
        open={revoking !== null}
        title="Revoke token?"
        message={`Scripts using "${revoking?.name ?? ''}" will stop working at once.`}
        action="Revoke"
        onConfirm={() => revoking && void revoke(revoking)}
        onCancel={() => setRevoking(null)}
      />
    </div>
  );
}

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { passwordMinLength } from '../../../../appliance/src/domain/users.ts';
import { call, callSafe, type ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';

type User = RouteOutput<'listUsers'>[number];
type Token = RouteOutput<'listTokens'>[number];
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

/** Reloads when an event about `kind` arrives (or the stream was reset). */
function useLive(kind: string, load: () => Promise<void>): void {
  const lastEvent = useApp((state) => state.lastEvent);
  const resets = useApp((state) => state.resets);
  useEffect(() => {
    void load();
  }, [load, resets]);
  useEffect(() => {
    if (lastEvent?.subject.kind === kind) void load();
  }, [lastEvent, kind, load]);
}

function UserAdmin({ selfId }: { selfId: string }) {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [form, setForm] = useState({ username: '', password: '', role: 'operator' as (typeof roles)[number] });
  const [deleting, setDeleting] = useState<User | null>(null);
  const load = useCallback(async () => setUsers(await call('listUsers')), []);
  useLive('user', load);

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
  async function remove(user: User) {
    setDeleting(null);
    const result = await callSafe('deleteUser', { params: { id: user.id } });
    setError(result.ok ? null : result.error);
    await load();
  }

  return (
    <div className="panel">
      <h2>People on this box</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id}>
              <td>{user.username}</td>
              <td>
                <select aria-label={`Role of ${user.username}`} value={user.role} onChange={(event) => void setRole(user, event.target.value as User['role'])} disabled={user.id === selfId}>
                  {roles.map((role) => (
                    <option key={role}>{role}</option>
                  ))}
                </select>
              </td>
              <td>
                {user.id !== selfId && (
                  <button type="button" className="danger" onClick={() => setDeleting(user)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={create} aria-label="New user">
        <label>
          Name
          <input value={form.username} onChange={(event) => setForm({ ...form, username: event.target.value })} required />
        </label>
        <label>
          Password
          <input type="password" value={form.password} onChange={(event) => setForm({ ...form, password: event.target.value })} autoComplete="new-password" required minLength={passwordMinLength} />
        </label>
        <label>
          Role
          <select value={form.role} onChange={(event) => setForm({ ...form, role: event.target.value as User['role'] })}>
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
  const [tokens, setTokens] = useState<Token[]>([]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const load = useCallback(async () => setTokens(await call('listTokens')), []);
  useLive('token', load);

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
      <p>For the CLI and scripts: send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
      <ul className="list">
        {tokens.map((token) => (
          <li key={token.id}>
            <span>{token.name}</span> <small>created {new Date(token.createdAt).toLocaleString()}</small>
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
          <input value={name} onChange={(event) => setName(event.target.value)} required maxLength={64} />
        </label>
        <button type="submit">Create token</button>
      </form>
      {created && (
        <div className="notice" role="status">
          <p>
            <strong>Copy this token now.</strong> It is shown only once; the box keeps only a hash of it.
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

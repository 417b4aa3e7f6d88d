import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { Fingerprint } from './FirstRun.tsx';
import { useCredentials } from './use-credentials.ts';

export function Login() {
  const setup = useApp((state) => state.setup);
  const { username, setUsername, password, setPassword, error, busy, submit } = useCredentials('login');

  return (
    <main className="centered">
      <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Bivouac</h1>
        <label>
          Name
          <input value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="current-password" required />
        </label>
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {setup?.tlsFingerprint && <Fingerprint value={setup.tlsFingerprint} />}
      </form>
    </main>
  );
}

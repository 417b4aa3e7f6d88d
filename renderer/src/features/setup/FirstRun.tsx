import { passwordMinLength } from '../../../../appliance/src/domain/users.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useCredentials } from './use-credentials.ts';

/** Until an administrator exists, this is the only screen. */
export function FirstRun() {
  const setup = useApp((state) => state.setup);
  const { username, setUsername, password, setPassword, error, busy, submit } = useCredentials('createAdmin', 'admin');

  return (
    <main className="centered">
      <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="first-run-title">
        <h1 id="first-run-title">Welcome to Bivouac</h1>
        <p>This box has no administrator yet. Choose the administrator&apos;s name and password.</p>
        <label>
          Administrator name
          <input value={username} onChange={(event) => setUsername(event.target.value)} autoComplete="username" required />
        </label>
        <label>
          Password (at least {passwordMinLength} characters)
          <input type="password" value={password} onChange={(event) => setPassword(event.target.value)} autoComplete="new-password" required minLength={passwordMinLength} />
        </label>
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Create administrator
        </button>
        {setup?.tlsFingerprint && <Fingerprint value={setup.tlsFingerprint} />}
      </form>
    </main>
  );
}

/** What remote administrators should see in their browser's certificate details. */
export function Fingerprint({ value }: { value: string }) {
  return (
    <p className="fingerprint">
      HTTPS certificate SHA-256 fingerprint: <code>{value}</code>
    </p>
  );
}

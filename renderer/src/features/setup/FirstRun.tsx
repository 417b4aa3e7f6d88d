import { passwordMinLength } from '../../../../appliance/src/domain/users.ts';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useCredentials } from './use-credentials.ts';

/**
 * Until an administrator exists, this is the only screen. On the box's own screen it shows the
 * one-time setup code (for setting up from another machine instead); elsewhere it asks for it.
 */
export function FirstRun() {
  const setup = useApp((state) => state.setup);
  const {
    username,
    setUsername,
    password,
    setPassword,
    setupCode,
    setSetupCode,
    error,
    busy,
    submit,
  } = useCredentials('createAdmin', 'admin');

  return (
    <main className="centered">
      <form
        className="card"
        onSubmit={(event) => void submit(event)}
        aria-labelledby="first-run-title"
      >
        <h1 id="first-run-title">Welcome to Bivouac</h1>
        <p>This box has no administrator yet. Choose the administrator&apos;s name and password.</p>
        <label>
          Administrator name
          <input
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            autoComplete="username"
            required
          />
        </label>
        <label>
          Password (at least {passwordMinLength} characters)
          <input
            type="password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="new-password"
            required
            minLength={passwordMinLength}
          />
        </label>
        {setup?.setupCodeRequired && (
          <label>
            Setup code (printed in the box&apos;s log and shown on its own screen)
            <input
              value={setupCode}
              onChange={(event) => setSetupCode(event.target.value)}
              autoComplete="off"
              spellCheck={false}
              required
            />
          </label>
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Create administrator
        </button>
        {setup?.setupCode && (
          <p className="setup-code">
            To set up this box from another machine instead, open it there and enter the setup code{' '}
            <code>{setup.setupCode}</code>
          </p>
        )}
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

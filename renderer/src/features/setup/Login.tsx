import { useEffect, useState } from 'react';
import { useApp } from '../../app/store.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { browserScreenId, isOnLoopback, shellScreenId } from './box-screen.ts';
import { Fingerprint } from './FirstRun.tsx';
import { useCredentials } from './use-credentials.ts';

export function Login() {
  const setup = useApp((state) => state.setup);
  // The desktop shell in kiosk mode always signs in as the box's screen; a browser at a loopback
  // address (the local listener) may choose to.
  const [shellId, setShellId] = useState<string | null>(null);
  const [isBoxScreen, setBoxScreen] = useState(false);
  useEffect(() => {
    void shellScreenId().then(setShellId);
  }, []);
  const screenId = async () =>
    shellId ?? (await shellScreenId()) ?? (isBoxScreen ? browserScreenId() : null);
  const { username, setUsername, password, setPassword, error, busy, submit } = useCredentials(
    'login',
    '',
    screenId,
  );

  return (
    <main className="centered">
      <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to Bivouac</h1>
        <label>
          Name
          <input
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            autoComplete="username"
            required
            autoFocus
          />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="current-password"
            required
          />
        </label>
        {shellId === null && isOnLoopback() && (
          <label className="check">
            <input
              type="checkbox"
              checked={isBoxScreen}
              onChange={(event) => setBoxScreen(event.target.checked)}
            />
            This is the box&apos;s own screen (it can then be locked to the App Store)
          </label>
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {setup?.tlsFingerprint && <Fingerprint value={setup.tlsFingerprint} />}
      </form>
    </main>
  );
}

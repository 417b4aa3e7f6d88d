import { useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';
import { Confirm } from '../../ui/Confirm.tsx';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useKiosk } from './kiosk-store.ts';
import './kiosk.css';

const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError ? error : new ApiError(0, 'INTERNAL', (error as Error).message);

/** Kiosk mode: the administrator's PIN, and locking this screen to the app store. */
export function KioskSettings() {
  const isAdmin = useApp((state) => state.session?.user.role === 'admin');
  const pinSet = useKiosk((state) => state.pinSet);
  const isScreen = useKiosk((state) => state.isScreen);
  const { lock, setPin, clearPin } = useKiosk.getState();
  const [pin, setPinValue] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [clearing, setClearing] = useState(false);

  async function attempt(action: () => Promise<void>, done: string) {
    try {
      await action();
      setError(null);
      setNotice(done);
    } catch (caught) {
      setNotice(null);
      setError(asApiError(caught));
    }
  }
  function savePin(event: FormEvent) {
    event.preventDefault();
    void attempt(() => setPin(pin), 'The kiosk PIN is set.').then(() => setPinValue(''));
  }

  return (
    <section aria-labelledby="kiosk-title" className="kiosk-settings">
      <h1 id="kiosk-title">Kiosk mode</h1>
      <p>
        Kiosk mode locks this screen to the App Store with large touch targets: people can deploy
        apps and follow their progress, nothing else. Leaving it takes the administrator&apos;s PIN;
        the lock holds across reloads and restarts.
      </p>
      {isAdmin && (
        <div className="panel">
          <h2>Administrator PIN</h2>
          <p>{pinSet ? 'A PIN is set.' : 'No PIN is set yet, so no screen can be locked.'}</p>
          <form onSubmit={savePin} aria-label="Kiosk PIN">
            <label>
              {pinSet ? 'New PIN' : 'PIN'} (4 to 12 digits)
              <input
                type="password"
                inputMode="numeric"
                autoComplete="new-password"
                pattern="[0-9]{4,12}"
                minLength={4}
                maxLength={12}
                value={pin}
                onChange={(event) => setPinValue(event.target.value.replace(/\D/g, ''))}
                required
              />
            </label>
            <button type="submit">Set PIN</button>
            {pinSet && (
              <button type="button" className="danger" onClick={() => setClearing(true)}>
                Clear PIN
              </button>
            )}
          </form>
        </div>
      )}
      <div className="panel">
        <h2>This screen</h2>
        <p>
          {!isScreen
            ? "Only the box's own screen can be locked: sign in there, on the box's local address (the kiosk shell does so by itself, a browser at http://localhost:8080 by ticking \"This is the box's own screen\")."
            : pinSet
              ? 'Lock this screen to the App Store; the PIN unlocks it.'
              : 'An administrator sets a PIN first.'}
        </p>
        <button
          type="button"
          className="large"
          disabled={!pinSet || !isScreen}
          onClick={() => void attempt(lock, '')}
        >
          Lock this screen to the App Store
        </button>
      </div>
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      <ErrorText error={error} />
      <Confirm
        open={clearing}
        title="Clear the kiosk PIN?"
        message="Every screen locked to the App Store is released at once, and none can be locked until a new PIN is set."
        action="Clear PIN"
        onConfirm={() => {
          setClearing(false);
          void attempt(clearPin, 'The kiosk PIN is cleared.');
        }}
        onCancel={() => setClearing(false)}
      />
    </section>
  );
}

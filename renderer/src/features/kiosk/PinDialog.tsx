import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client.ts';
import { ErrorText } from '../../ui/ErrorText.tsx';
import { useKiosk } from './kiosk-store.ts';

const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'] as const;

/** Asks for the administrator's PIN to leave kiosk mode, with a keypad for the touch screen. */
export function PinDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const unlock = useKiosk((state) => state.unlock);
  const [pin, setPin] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (open && !dialog.current?.open) dialog.current?.showModal();
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open]);

  function close() {
    setPin('');
    setError(null);
    onClose();
  }
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await unlock(pin);
      close();
    } catch (caught) {
      setError(
        caught instanceof ApiError
          ? caught
          : new ApiError(0, 'INTERNAL', (caught as Error).message),
      );
      setPin('');
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  }
  const press = (key: string) => {
    setPin((previous) => (previous + key).slice(0, 12));
    input.current?.focus();
  };

  return (
    <dialog ref={dialog} className="pin-dialog" onCancel={close} aria-labelledby="pin-title">
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="pin-title">Leave kiosk mode</h2>
        <label>
          Administrator PIN
          <input
            ref={input}
            type="password"
            inputMode="numeric"
            autoComplete="off"
            pattern="[0-9]*"
            maxLength={12}
            value={pin}
            onChange={(event) => setPin(event.target.value.replace(/\D/g, ''))}
            autoFocus
            required
          />
        </label>
        <div className="keypad" role="group" aria-label="Keypad">
          {keys.map((key) => (
            <button key={key} type="button" className="secondary" onClick={() => press(key)}>
              {key}
            </button>
          ))}
          <button
            type="button"
            className="secondary"
            onClick={() => setPin((previous) => previous.slice(0, -1))}
            aria-label="Delete last digit"
          >
            ⌫
          </button>
        </div>
        <ErrorText error={error} />
        <div className="actions">
          <button type="button" className="secondary" onClick={close}>
            Cancel
          </button>
          <button type="submit" disabled={busy || pin.length < 4}>
            Unlock
          </button>
        </div>
      </form>
    </dialog>
  );
}

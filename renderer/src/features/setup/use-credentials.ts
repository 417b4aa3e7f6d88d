import { useState, type FormEvent } from 'react';
import type { RouteOutput } from '../../../../appliance/src/api/contract.ts';
import { callSafe, type ApiError } from '../../api/client.ts';
import { useApp } from '../../app/store.ts';

/**
 * A name-and-password form that signs in on success: first run (createAdmin, with the setup code
 * where the box asks for one) or login. `screenId` (login only) opens a kiosk session for the
 * box's own screen.
 */
export function useCredentials(
  route: 'createAdmin' | 'login',
  initialName = '',
  screenId: () => Promise<string | null> = async () => null,
) {
  const signedIn = useApp((state) => state.signedIn);
  const [username, setUsername] = useState(initialName);
  const [password, setPassword] = useState('');
  const [setupCode, setSetupCode] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    const id = route === 'login' ? await screenId() : null;
    const result =
      route === 'createAdmin' && setupCode.trim() !== ''
        ? await callSafe('createAdmin', {
            body: { username, password, setupCode: setupCode.trim() },
          })
        : await callSafe(route, {
            body: { username, password, ...(id === null ? {} : { screenId: id }) },
          });
    setBusy(false);
    if (result.ok) signedIn(result.value as RouteOutput<'login'>);
    else setError(result.error);
  }

  return {
    username,
    setUsername,
    password,
    setPassword,
    setupCode,
    setSetupCode,
    error,
    busy,
    submit,
  };
}

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file, under the shell's user data folder, that names this screen. */
export const screenIdFileName = 'kiosk-screen-id';

/** What the appliance accepts as a screen id (its schema says the same). */
const screenIdPattern = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * The id of the box's own screen, which its kiosk sessions sign in with: made once at random and
 * kept in the shell's user data, so it survives restarts of the shell (and of the box), and the
 * runs started from this screen stay this screen's. A missing or unreadable file gets a new id,
 * written atomically and readable by the shell's user only.
 */
export async function loadScreenId(userDataDir: string): Promise<string> {
  const path = join(userDataDir, screenIdFileName);
  const stored = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    () => '',
  );
  if (screenIdPattern.test(stored)) return stored;
  const made = `screen-${randomBytes(16).toString('base64url')}`;
  await mkdir(userDataDir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${made}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return made;
}

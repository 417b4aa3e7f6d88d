import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScreenId, screenIdFileName } from '../../../electron/main/screen-id.ts';
import { ScreenId } from '../../../appliance/src/api/schemas.ts';

describe('the kiosk screen id', () => {
  let userData: string;
  beforeEach(async () => {
    userData = await mkdtemp(join(tmpdir(), 'bivouac-shell-'));
  });
  afterEach(async () => {
    await rm(userData, { recursive: true, force: true });
  });

  it('M3: is made once and survives a restart of the shell', async () => {
    const first = await loadScreenId(join(userData, 'not-yet-made'));
    expect(ScreenId.safeParse(first).success).toBe(true);
    expect(await loadScreenId(join(userData, 'not-yet-made'))).toBe(first);
    const file = join(userData, 'not-yet-made', screenIdFileName);
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Another screen (another user data folder) gets another id.
    expect(await loadScreenId(userData)).not.toBe(first);
  });

  it('replaces a file that holds no valid id', async () => {
    await writeFile(join(userData, screenIdFileName), 'short\n');
    const made = await loadScreenId(userData);
    expect(made).not.toBe('short');
    expect(ScreenId.safeParse(made).success).toBe(true);
  });
});

import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConsole } from '../../appliance/src/host/console-log.ts';
import { tempDir } from '../fixtures/appliance.ts';

describe('console logs', () => {
  it('serves the tail, then follows what is appended', async () => {
    const path = join(await tempDir(), 'console.log');
    expect(await readConsole(path, { waitMs: 0, tail: 10 })).toBeNull();
    await writeFile(path, 'boot line 1\nboot line 2\n');
    expect(await readConsole(path, { waitMs: 0, tail: 12 })).toEqual({
      text: 'boot line 2\n',
      fromBytes: 12,
      sizeBytes: 24,
    });

    const waiting = readConsole(path, { after: 24, waitMs: 5000, tail: 10 });
    setTimeout(() => void appendFile(path, 'bivouac-tiny: ready\n'), 300);
    expect(await waiting).toEqual({ text: 'bivouac-tiny: ready\n', fromBytes: 24, sizeBytes: 44 });
    expect(await readConsole(path, { after: 44, waitMs: 300, tail: 10 })).toEqual({
      text: '',
      fromBytes: 44,
      sizeBytes: 44,
    });
  });

  it('starts again from the top when the log was truncated (the VM restarted)', async () => {
    const path = join(await tempDir(), 'console.log');
    await writeFile(path, 'new boot\n');
    expect(await readConsole(path, { after: 500, waitMs: 0, tail: 10 })).toEqual({
      text: 'new boot\n',
      fromBytes: 0,
      sizeBytes: 9,
    });
  });
});

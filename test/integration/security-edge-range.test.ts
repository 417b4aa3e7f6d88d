import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeAppliance, tempDir, type TestAppliance } from '../fixtures/appliance.ts';
import { useEdgeCleanups } from '../fixtures/edge-cleanups.ts';

/**
 * A Range the file cannot satisfy (Range-416) answers 416 in the error registry's form.
 */

let box: TestAppliance | undefined;
const { cleanups } = useEdgeCleanups(() => box);

describe('Range-416', () => {
  it('Range-416: a Range the file cannot satisfy answers 416 RANGE_NOT_SATISFIABLE, without signing in', async () => {
    const rendererDir = await tempDir('bivouac-renderer-');
    cleanups.push(() => rm(rendererDir, { recursive: true, force: true }));
    await mkdir(join(rendererDir, 'assets'));
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Bivouac</title>');
    await writeFile(join(rendererDir, 'assets', 'app-1234.js'), 'console.log("bivouac");\n');
    box = await makeAppliance({ rendererDir });
    for (const range of ['bytes=5-1', 'bytes=1000-2000']) {
      const response = await box.app.inject({ url: '/assets/app-1234.js', headers: { range } });
      expect(response.statusCode, range).toBe(416);
      expect(response.json().error.code, range).toBe('RANGE_NOT_SATISFIABLE');
    }
    const part = await box.app.inject({
      url: '/assets/app-1234.js',
      headers: { range: 'bytes=0-6' },
    });
    expect(part.statusCode).toBe(206);
    expect(part.body).toBe('console');
  });
});

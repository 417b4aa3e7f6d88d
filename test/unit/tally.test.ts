import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { closingLines, emptyTally, tallyPlaywright, tallyVitest } from '../tally.ts';

/**
 * Each rule of the count is proved on the report a real runner writes: vitest (or Playwright) runs
 * scratch test files in a temp folder under the project's own config, and the tally of its JSON
 * report is checked.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const scratchDirs: string[] = [];

afterAll(async () => {
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
});

/** A temp folder that resolves the project's packages, holding `files`. */
async function scratch(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bivouac-tally-'));
  scratchDirs.push(dir);
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** The environment without the outer vitest's markers, and outside CI (where defaults differ). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('VITEST') && key !== 'CI' && key !== 'NODE_ENV' && key !== 'TEST',
    ),
  );
}

/** Runs vitest under the project's vitest.config.ts, with only where tests are and the set-up files left out. */
async function runVitest(
  files: Record<string, string>,
): Promise<{ report: unknown; isExitOk: boolean }> {
  const dir = await scratch({
    ...files,
    'vitest.config.ts': `import config from ${JSON.stringify(join(root, 'vitest.config.ts'))};
export default { ...config, test: { ...config.test, include: ['*.test.ts'], globalSetup: [], setupFiles: [] } };
`,
  });
  const result = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--root',
      dir,
      '--reporter=json',
      '--outputFile.json=report.json',
    ],
    {
      cwd: dir,
      env: cleanEnv(),
      encoding: 'utf8',
    },
  );
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as unknown;
  return { report, isExitOk: result.status === 0 };
}

/** Runs Playwright under the project's playwright.config.ts, with only where tests are and the set-up and server left out. */
async function runPlaywright(
  files: Record<string, string>,
): Promise<{ report: unknown; isExitOk: boolean }> {
  const dir = await scratch({
    ...files,
    'playwright.config.ts': `import config from ${JSON.stringify(join(root, 'playwright.config.ts'))};
export default { ...config, testDir: '.', testMatch: '*.spec.ts', outputDir: 'out', globalSetup: undefined, globalTeardown: undefined, webServer: undefined, projects: undefined };
`,
  });
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules/@playwright/test/cli.js'), 'test', '--reporter=json'],
    {
      cwd: dir,
      env: { ...cleanEnv(), PLAYWRIGHT_JSON_OUTPUT_NAME: join(dir, 'report.json') },
      encoding: 'utf8',
    },
  );
  const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as unknown;
  return { report, isExitOk: result.status === 0 };
}

const passingFile = `import { expect, it } from 'vitest';
it('passes', () => expect(1).toBe(1));
it.skip('is skipped on purpose', () => expect(1).toBe(1));
`;

/** Each run starts a runner process: generous, as the machine may be busy. */
const runnerTimeout = { timeout: 180_000 };

describe("counting vitest's report", runnerTimeout, () => {
  it('counts a passing test as passed and a deliberate skip as skipped', async () => {
    const { report, isExitOk } = await runVitest({ 'fine.test.ts': passingFile });
    expect(tallyVitest(report, isExitOk)).toMatchObject({ passed: 1, failed: 0, skipped: 1 });
  });

  it('counts the tests of a file whose beforeAll throws as failed, not skipped', async () => {
    const { report, isExitOk } = await runVitest({
      'fine.test.ts': passingFile,
      'broken-setup.test.ts': `import { beforeAll, expect, it } from 'vitest';
beforeAll(() => { throw new Error('the daemon did not start'); });
it('first', () => expect(1).toBe(1));
it('second', () => expect(1).toBe(1));
`,
    });
    const tally = tallyVitest(report, isExitOk);
    expect(tally).toMatchObject({ passed: 1, failed: 2, skipped: 1 });
    expect(tally.problems.join('\n')).toContain('the daemon did not start');
  });

  it('counts the tests of a file whose worker was killed as failed', async () => {
    const { report, isExitOk } = await runVitest({
      'fine.test.ts': passingFile,
      'crash.test.ts': `import { expect, it } from 'vitest';
it('runs before the crash', () => expect(1).toBe(1));
it('kills its own worker', () => { process.kill(process.pid, 'SIGKILL'); });
it('never runs', () => expect(1).toBe(1));
`,
    });
    // The report itself counts them nowhere: 1 passed (the other file) and no failure.
    expect(report).toMatchObject({ numPassedTests: 1, numFailedTests: 0, numTotalTests: 5 });
    expect(tallyVitest(report, isExitOk)).toMatchObject({ passed: 1, failed: 3, skipped: 1 });
  });

  it('counts a file that failed after all its tests passed as one failure', async () => {
    const { report, isExitOk } = await runVitest({
      'teardown.test.ts': `import { afterAll, expect, it } from 'vitest';
afterAll(() => { throw new Error('the cleanup left a VM behind'); });
it('passes', () => expect(1).toBe(1));
`,
      'does-not-load.test.ts': `import { expect, it } from 'vitest';
it('registered', () => expect(1).toBe(1));
throw new Error('the fixture could not be found');
`,
    });
    const tally = tallyVitest(report, isExitOk);
    expect(tally).toMatchObject({ passed: 1, failed: 2, skipped: 0 });
    expect(tally.problems.join('\n')).toContain('the cleanup left a VM behind');
    expect(tally.problems.join('\n')).toContain('the fixture could not be found');
  });

  it('fails a run with a stray .only under the project config, instead of skipping the other tests', async () => {
    const { report, isExitOk } = await runVitest({
      'focused.test.ts': `import { expect, it } from 'vitest';
it.only('focused', () => expect(1).toBe(1));
it('would fail', () => expect(1).toBe(2));
`,
    });
    const tally = tallyVitest(report, isExitOk);
    expect(isExitOk).toBe(false);
    expect(tally.failed).toBeGreaterThan(0);
    expect(tally.skipped).toBe(0);
  });

  it('counts a missing report, and a failed exit with nothing failed, as a failure', () => {
    expect(tallyVitest(null, false)).toMatchObject({ passed: 0, failed: 1 });
    const clean = {
      numTotalTests: 1,
      testResults: [
        { name: 'a', status: 'passed', message: '', assertionResults: [{ status: 'passed' }] },
      ],
    };
    expect(tallyVitest(clean, true)).toMatchObject({ passed: 1, failed: 0 });
    expect(tallyVitest(clean, false)).toMatchObject({ passed: 1, failed: 1 });
  });
});

describe("counting Playwright's report", runnerTimeout, () => {
  it('counts tests that did not run after a failure or a throwing beforeAll as failed, a deliberate skip as skipped', async () => {
    const { report, isExitOk } = await runPlaywright({
      'serial.spec.ts': `import { expect, test } from '@playwright/test';
test.describe.configure({ mode: 'serial' });
test('fails', () => expect(1).toBe(2));
test('does not run', () => expect(1).toBe(1));
`,
      'broken-setup.spec.ts': `import { expect, test } from '@playwright/test';
test.beforeAll(() => { throw new Error('the browser could not start'); });
test('first', () => expect(1).toBe(1));
test('second', () => expect(1).toBe(1));
`,
      'plain.spec.ts': `import { expect, test } from '@playwright/test';
test('passes', () => expect(1).toBe(1));
test.skip('is skipped on purpose', () => expect(1).toBe(1));
`,
    });
    expect(tallyPlaywright(report, isExitOk)).toMatchObject({ passed: 1, failed: 4, skipped: 1 });
  });

  it('fails a run with a stray test.only under the project config', async () => {
    const { report, isExitOk } = await runPlaywright({
      'focused.spec.ts': `import { expect, test } from '@playwright/test';
test.only('focused', () => expect(1).toBe(1));
test('other', () => expect(1).toBe(1));
`,
    });
    const tally = tallyPlaywright(report, isExitOk);
    expect(tally.failed).toBeGreaterThan(0);
    expect(tally.problems.join('\n')).toContain('.only');
  });
});

describe('the closing line', () => {
  const tests = { ...emptyTally(), passed: 405, skipped: 2 };

  it('counts tests only and reports the build steps on their own line', () => {
    const lines = closingLines(tests, [
      { name: 'typecheck', isOk: true },
      { name: 'lint', isOk: true },
    ]);
    expect(lines).toEqual(['steps: typecheck ok, lint ok', '405 passed, 0 failed, 2 skipped']);
    // Only the last line has the shape CI reads.
    expect(lines.filter((line) => /^\d+ passed, \d+ failed/.test(line))).toHaveLength(1);
  });

  it('counts a failed step among the failures, so the run cannot end with 0 failed', () => {
    expect(closingLines(tests, [{ name: 'lint', isOk: false }]).at(-1)).toBe(
      '405 passed, 1 failed, 2 skipped',
    );
  });
});

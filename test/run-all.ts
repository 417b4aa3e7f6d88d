/**
 * `npm test`: every check in order — typecheck, lint, format (Prettier), file lengths (none over
 * 400 lines after Prettier), import cycles (dpdm, type-only imports included), renderer build,
 * appliance build, unit and integration tests (vitest), end-to-end tests (Playwright in Debian's
 * Chromium) — then a `steps: …` line for the build steps and one closing line `N passed, N failed, N skipped` counting the tests in the
 * runners' JSON reports, where failed also counts failed steps. The counting rules (a test that
 * did not run because its file failed, or whose worker died, is a failure; a missing report is a
 * failure) are in tally.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import {
  addTallies,
  closingLines,
  tallyPlaywright,
  tallyVitest,
  type StepOutcome,
  type Tally,
} from './tally.ts';

const reports = 'reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const steps: StepOutcome[] = [];
const tallies: Tally[] = [];
const only = process.argv.slice(2);

function run(command: string, args: string[], env: Record<string, string> = {}): boolean {
  process.stdout.write(`\n== ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status === 0;
}

/** A build step: it must succeed for the run to pass, but it is not counted as a test. */
function step(name: string, isOk: boolean): void {
  process.stdout.write(`${isOk ? 'PASS' : 'FAIL'} ${name}\n`);
  steps.push({ name, isOk });
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function wanted(name: string): boolean {
  return only.length === 0 || only.includes(name);
}

if (wanted('typecheck')) {
  step(
    'typecheck',
    run('npx', ['tsc', '-p', 'tsconfig.json']) &&
      run('npx', ['tsc', '-p', 'renderer/tsconfig.json']),
  );
}
if (wanted('lint')) step('lint', run('npx', ['eslint', '.']));
if (wanted('format')) step('format', run('npx', ['prettier', '--check', '.']));
// No source file over 400 lines after Prettier (test/file-lengths.ts).
if (wanted('lengths')) step('file lengths', run('npx', ['tsx', 'test/file-lengths.ts']));
// No import circle in the appliance or the renderer, type-only imports included.
if (wanted('cycles'))
  step(
    'import cycles',
    run('npx', [
      'dpdm',
      '--no-tree',
      '--no-warning',
      '--exit-code',
      'circular:1',
      'appliance/src/**/*.ts',
      'renderer/src/**/*.{ts,tsx}',
    ]),
  );
if (wanted('build') || wanted('e2e'))
  step('renderer build', run('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts']));
// The process tests and the specs run the built appliance (dist/appliance), as the box does.
if (wanted('build') || wanted('unit') || wanted('e2e'))
  step('appliance build', run('npx', ['tsx', 'build/build-appliance.ts']));
if (wanted('unit')) {
  const isOk = run('npx', [
    'vitest',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reports}/vitest.json`,
  ]);
  tallies.push(
    tallyVitest(readJson(`${reports}/vitest.json`), isOk, `vitest report ${reports}/vitest.json`),
  );
}
if (wanted('e2e')) {
  const isOk = run('npx', ['playwright', 'test', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/playwright.json`,
  });
  tallies.push(
    tallyPlaywright(
      readJson(`${reports}/playwright.json`),
      isOk,
      `playwright report ${reports}/playwright.json`,
    ),
  );
}

const tests = addTallies(tallies);
process.stdout.write('\n');
for (const problem of tests.problems) process.stdout.write(`FAIL ${problem}\n`);
for (const line of closingLines(tests, steps)) process.stdout.write(`${line}\n`);
process.exitCode = tests.failed > 0 || steps.some((each) => !each.isOk) ? 1 : 0;

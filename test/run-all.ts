/**
 * `npm test`: every check in order — typecheck, lint, renderer build, appliance build, unit and
 * integration tests (vitest), end-to-end tests (Playwright in Debian's Chromium) — then one
 * closing line `N passed, N failed, N skipped` counted from the runners' JSON reports. A step
 * that cannot run, or a report that is missing, counts as a failure.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const reports = 'reports';
rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });
const total: Tally = { passed: 0, failed: 0, skipped: 0 };
const only = process.argv.slice(2);

function run(command: string, args: string[], env: Record<string, string> = {}): boolean {
  process.stdout.write(`\n== ${command} ${args.join(' ')}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status === 0;
}

function step(name: string, ok: boolean): void {
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${name}\n`);
  if (ok) total.passed += 1;
  else total.failed += 1;
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

interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: unknown[]; name: string }[];
}

function tallyVitest(path: string, exitOk: boolean): void {
  const report = readJson(path) as VitestReport | null;
  if (!report) return step(`vitest report ${path} missing`, false);
  total.passed += report.numPassedTests;
  total.failed += report.numFailedTests;
  total.skipped += report.numPendingTests + report.numTodoTests;
  // A file that failed to load has no assertions but a failed status.
  const broken = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0);
  for (const file of broken) step(`test file failed to load: ${file.name}`, false);
  if (!exitOk && report.numFailedTests === 0 && broken.length === 0) step('vitest exited with an error', false);
}

interface PlaywrightReport {
  stats: { expected: number; unexpected: number; flaky: number; skipped: number };
  errors: unknown[];
}

function tallyPlaywright(path: string, exitOk: boolean): void {
  const report = readJson(path) as PlaywrightReport | null;
  if (!report) return step(`playwright report ${path} missing`, false);
  total.passed += report.stats.expected + report.stats.flaky;
  total.failed += report.stats.unexpected;
  total.skipped += report.stats.skipped;
  if (report.errors.length > 0 || (!exitOk && report.stats.unexpected === 0)) step('playwright run errors', false);
}

if (wanted('typecheck')) {
  step('typecheck', run('npx', ['tsc', '-p', 'tsconfig.json']) && run('npx', ['tsc', '-p', 'renderer/tsconfig.json']));
}
if (wanted('lint')) step('lint', run('npx', ['eslint', '.']));
if (wanted('build') || wanted('e2e')) step('renderer build', run('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts']));
// The process tests and the specs run the built appliance (dist/appliance), as the box does.
if (wanted('build') || wanted('unit') || wanted('e2e')) step('appliance build', run('npx', ['tsx', 'build/build-appliance.ts']));
if (wanted('unit')) {
  const ok = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reports}/vitest.json`]);
  tallyVitest(`${reports}/vitest.json`, ok);
}
if (wanted('e2e')) {
  const ok = run('npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: `${reports}/playwright.json` });
  tallyPlaywright(`${reports}/playwright.json`, ok);
}

process.stdout.write(`\n${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exitCode = total.failed > 0 ? 1 : 0;

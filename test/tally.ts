/**
 * How `npm test` counts: the tests in vitest's and Playwright's JSON reports, plus the build
 * steps, into the closing line `N passed, N failed, N skipped` that CI reads. Kept apart from
 * run-all.ts so the rules can be tested against real reports (test/unit/tally.test.ts).
 *
 * The rules, each one a way a broken run could otherwise look green:
 * - a test counts as skipped only when it was meant not to run: in a file that failed, vitest
 *   marks every test after a throwing `beforeAll` "skipped", so a failed file's skipped tests
 *   count as failed (the report cannot tell them from an `it.skip`, so a failing file's deliberate
 *   skips count as failed too);
 * - a test that never finished (vitest "pending": its worker died) counts as failed; the report's
 *   own totals leave it out;
 * - a file with status failed counts at least one failure, whatever its tests say (it failed to
 *   load, or an `afterAll` threw);
 * - the report's `numTotalTests` beyond the tests found in its files count as failed;
 * - a Playwright test skipped although it was expected to run (after a failure in a serial file,
 *   or an interrupted run) counts as failed, as does each error of the run itself (`test.only`
 *   under `forbidOnly`);
 * - a missing or unreadable report, or a runner that exited non-zero with nothing counted
 *   failed, is one failure.
 * Build steps are not tests: they are reported on their own line, and a failed step adds to the
 * closing line's failures so the run fails.
 */

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  /** Why something counted as failed beyond a plain failing test, one line each. */
  problems: string[];
}

/** A build step (typecheck, lint, a build): it must succeed, but it is not a test. */
export interface StepOutcome {
  name: string;
  isOk: boolean;
}

export function emptyTally(): Tally {
  return { passed: 0, failed: 0, skipped: 0, problems: [] };
}

/** The sum of several tallies (vitest's and Playwright's). */
export function addTallies(tallies: readonly Tally[]): Tally {
  const total = emptyTally();
  for (const tally of tallies) {
    total.passed += tally.passed;
    total.failed += tally.failed;
    total.skipped += tally.skipped;
    total.problems.push(...tally.problems);
  }
  return total;
}

function failure(problem: string): Tally {
  return { passed: 0, failed: 1, skipped: 0, problems: [problem] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface VitestFile {
  name: string;
  status: string;
  message: string;
  statuses: string[];
}

/** The parts of vitest's JSON report the count needs, or null when it is not one. */
function readVitestReport(report: unknown): { numTotalTests: number; files: VitestFile[] } | null {
  if (
    !isRecord(report) ||
    typeof report.numTotalTests !== 'number' ||
    !Array.isArray(report.testResults)
  )
    return null;
  const files: VitestFile[] = [];
  for (const file of report.testResults) {
    if (!isRecord(file) || !Array.isArray(file.assertionResults)) return null;
    files.push({
      name: String(file.name),
      status: String(file.status),
      message: typeof file.message === 'string' ? file.message : '',
      statuses: file.assertionResults.map((assertion) =>
        isRecord(assertion) ? String(assertion.status) : 'unreadable',
      ),
    });
  }
  return { numTotalTests: report.numTotalTests, files };
}

/** Counts vitest's JSON report (`--reporter=json`); `report` is the parsed file or null. */
export function tallyVitest(report: unknown, isExitOk: boolean, source = 'vitest report'): Tally {
  const read = readVitestReport(report);
  if (!read) return failure(`${source} missing or unreadable`);
  const tally = emptyTally();
  let listed = 0;
  for (const file of read.files) {
    listed += file.statuses.length;
    const count = (status: string) => file.statuses.filter((each) => each === status).length;
    const passed = count('passed');
    const unfinished = count('pending');
    let skipped = count('skipped');
    const todo = count('todo');
    const unknown = file.statuses.length - passed - unfinished - skipped - todo - count('failed');
    let failed = count('failed') + unfinished + unknown;
    if (unfinished > 0)
      tally.problems.push(`${file.name}: ${unfinished} test(s) never finished (the worker died?)`);
    if (unknown > 0)
      tally.problems.push(
        `${file.name}: ${unknown} test(s) with a status this count does not know`,
      );
    if (file.status === 'failed') {
      const why = file.message ? `: ${file.message}` : '';
      if (skipped > 0) {
        tally.problems.push(
          `${file.name}: ${skipped} test(s) did not run because the file failed${why}`,
        );
        failed += skipped;
        skipped = 0;
      }
      if (failed === 0) {
        tally.problems.push(
          `${file.name} failed${why || ' (no test in it failed: it did not load, or a hook threw)'}`,
        );
        failed = 1;
      }
    }
    tally.passed += passed;
    tally.failed += failed;
    tally.skipped += skipped + todo;
  }
  if (read.numTotalTests > listed) {
    tally.problems.push(
      `${read.numTotalTests - listed} test(s) counted by vitest are in no file of its report`,
    );
    tally.failed += read.numTotalTests - listed;
  }
  if (!isExitOk && tally.failed === 0) {
    tally.problems.push('vitest exited with an error');
    tally.failed = 1;
  }
  return tally;
}

interface PlaywrightTest {
  expectedStatus: string;
  status: string;
  results: { status: string }[];
}

function playwrightTests(
  suite: Record<string, unknown>,
  into: { title: string; test: PlaywrightTest }[],
): void {
  for (const spec of Array.isArray(suite.specs) ? suite.specs : []) {
    if (!isRecord(spec) || !Array.isArray(spec.tests)) continue;
    for (const test of spec.tests) {
      if (!isRecord(test)) continue;
      into.push({
        title: `${String(spec.file ?? '')} › ${String(spec.title)}`,
        test: {
          expectedStatus: String(test.expectedStatus),
          status: String(test.status),
          results: Array.isArray(test.results)
            ? test.results.filter(isRecord).map((result) => ({ status: String(result.status) }))
            : [],
        },
      });
    }
  }
  for (const child of Array.isArray(suite.suites) ? suite.suites : [])
    if (isRecord(child)) playwrightTests(child, into);
}

/** Counts Playwright's JSON report (`--reporter=json`); `report` is the parsed file or null. */
export function tallyPlaywright(
  report: unknown,
  isExitOk: boolean,
  source = 'playwright report',
): Tally {
  if (!isRecord(report) || !Array.isArray(report.suites) || !Array.isArray(report.errors))
    return failure(`${source} missing or unreadable`);
  const tally = emptyTally();
  const tests: { title: string; test: PlaywrightTest }[] = [];
  for (const suite of report.suites) if (isRecord(suite)) playwrightTests(suite, tests);
  for (const { title, test } of tests) {
    if (test.status === 'expected' || test.status === 'flaky') tally.passed += 1;
    else if (test.status === 'skipped') {
      const didRun =
        test.results.length > 0 &&
        test.expectedStatus === 'skipped' &&
        !test.results.some((result) => result.status === 'interrupted');
      if (didRun) tally.skipped += 1;
      else {
        tally.failed += 1;
        tally.problems.push(`${title}: did not run`);
      }
    } else tally.failed += 1;
  }
  for (const error of report.errors) {
    tally.failed += 1;
    tally.problems.push(
      `playwright: ${isRecord(error) && typeof error.message === 'string' ? error.message.split('\n')[0] : 'an error outside any test'}`,
    );
  }
  if (!isExitOk && tally.failed === 0) {
    tally.problems.push('playwright exited with an error');
    tally.failed = 1;
  }
  return tally;
}

/**
 * The last lines of `npm test`: the build steps on their own line (worded so it cannot be read as
 * the count), then `N passed, N failed, N skipped` counting tests, where failed also counts every
 * failed step and every problem outside a test, so that a run with a failed step cannot end with
 * `0 failed`.
 */
export function closingLines(tests: Tally, steps: readonly StepOutcome[]): string[] {
  const lines: string[] = [];
  if (steps.length > 0)
    lines.push(
      `steps: ${steps.map((step) => `${step.name} ${step.isOk ? 'ok' : 'FAILED'}`).join(', ')}`,
    );
  const failedSteps = steps.filter((step) => !step.isOk).length;
  lines.push(
    `${tests.passed} passed, ${tests.failed + failedSteps} failed, ${tests.skipped} skipped`,
  );
  return lines;
}

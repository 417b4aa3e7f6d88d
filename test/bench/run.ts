/**
 * Runs the benchmarks, each `*.bench.ts` in this folder as its own process (`tsx <file>`), one
 * after the other so they do not compete for the CPU. Their output passes through; at the end a
 * summary says which targets were met.
 *
 *   npm run bench                      all
 *   npm run bench -- NAME [NAME…]      those whose file name contains a NAME
 *   npm run bench -- --no-fail         a missed target is reported but does not fail the run
 *
 * Exits non-zero when a benchmark crashed, and when a target was missed (unless --no-fail).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../fixtures/built-appliance.ts';
import { meetsTarget, parseFigure, type BenchFigure } from './lib.ts';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const tsxCli = join(rootDir, 'node_modules', '.bin', 'tsx');
const suffix = '.bench.ts';
/** A benchmark that runs longer than this is stuck; it is killed and counted as crashed. */
const benchTimeoutMs = 15 * 60_000;

interface BenchResult {
  name: string;
  figures: BenchFigure[];
  /** Why the benchmark counts as crashed, or null when it exited 0. */
  failure: string | null;
}

function runBench(name: string): Promise<BenchResult> {
  const figures: BenchFigure[] = [];
  const child = spawn(process.execPath, [tsxCli, join(benchDir, `${name}${suffix}`)], {
    cwd: rootDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    const figure = parseFigure(line);
    if (figure) figures.push(figure);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, benchTimeoutMs);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ name, figures, failure: `could not start: ${error.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let failure: string | null = null;
      if (timedOut) failure = `killed after ${benchTimeoutMs / 60_000} min`;
      else if (signal) failure = `killed by ${signal}`;
      else if (code !== 0) failure = `exit code ${code}`;
      resolve({ name, figures, failure });
    });
  });
}

/** A target the runner cannot read counts as missed, so a typo cannot pass. */
function isTargetMet(figure: BenchFigure): boolean {
  try {
    return figure.target === null || meetsTarget(figure.value, figure.target);
  } catch (error) {
    process.stderr.write(`${figure.name}: ${(error as Error).message}\n`);
    return false;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const isFailOnMiss = !args.includes('--no-fail');
  const unknownFlags = args.filter((arg) => arg.startsWith('-') && arg !== '--no-fail');
  if (unknownFlags.length > 0) {
    process.stderr.write(`unknown option ${unknownFlags.join(' ')}\n`);
    return 2;
  }
  const filters = args.filter((arg) => !arg.startsWith('-'));
  const all = (await readdir(benchDir))
    .filter((file) => file.endsWith(suffix))
    .map((file) => file.slice(0, -suffix.length))
    .sort();
  const chosen =
    filters.length === 0
      ? all
      : all.filter((name) => filters.some((filter) => name.includes(filter)));
  if (chosen.length === 0) {
    process.stderr.write(
      `no benchmark matches ${filters.join(', ')}; there are: ${all.join(', ')}\n`,
    );
    return 2;
  }

  // The benchmarks that start the appliance measure the build the box runs, and its UI.
  ensureBuilt('appliance', 'renderer');
  const results: BenchResult[] = [];
  for (const name of chosen) {
    process.stdout.write(`# ${name}\n`);
    const started = performance.now();
    const result = await runBench(name);
    process.stdout.write(
      `# ${name}: ${result.failure ?? 'done'} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
    results.push(result);
  }

  process.stdout.write('\n# summary\n');
  let met = 0;
  let missed = 0;
  let crashed = 0;
  for (const result of results) {
    for (const figure of result.figures) {
      if (figure.target === null) continue;
      const isMet = isTargetMet(figure);
      if (isMet) met += 1;
      else missed += 1;
      process.stdout.write(
        `${isMet ? 'MET' : 'MISSED'} ${figure.name} ${figure.value} ${figure.unit} ${figure.target}\n`,
      );
    }
    if (result.failure) {
      crashed += 1;
      process.stdout.write(`CRASHED ${result.name} ${result.failure}\n`);
    } else if (result.figures.length === 0) {
      crashed += 1;
      process.stdout.write(`CRASHED ${result.name} printed no figure\n`);
    }
  }
  process.stdout.write(
    `${met} met, ${missed} missed, ${crashed} crashed (${results.length} benchmarks)\n`,
  );
  return crashed > 0 || (isFailOnMiss && missed > 0) ? 1 : 0;
}

process.exitCode = await main();

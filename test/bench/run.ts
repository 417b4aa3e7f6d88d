/**
 * Runs the benchmarks, each `*.bench.ts` in this folder as its own process, one
 * after the other so they do not compete for the CPU. Their output passes through; at the end a
 * summary says which targets were met.
 *
 *   npm run bench                      all
 *   npm run bench -- NAME [NAME…]      those whose file name contains a NAME
 *   npm run bench -- --no-fail         a missed target is reported but does not fail the run
 *
 * Every bench declares the figures it prints in figures.ts; summary.ts judges them. Exits
 * non-zero when a benchmark crashed, a declared figure is missing or not a number, a figure is
 * not declared, and when a target was missed (unless --no-fail).
 *
 * Benches run as `node --expose-gc --import tsx <file>`: one process (a time-out kills the bench
 * itself), and `global.gc` for benches that measure memory growth from a collected heap.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from '../fixtures/built-appliance.ts';
import { declaredFigures } from './figures.ts';
import { parseBenchLine } from './lib.ts';
import { isFailedRun, summarise, type BenchResult } from './summary.ts';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const suffix = '.bench.ts';
/** A benchmark that runs longer than this is stuck; it is killed and counted as crashed. */
const benchTimeoutMs = 15 * 60_000;

function runBench(name: string): Promise<BenchResult> {
  const figures: BenchResult['figures'] = [];
  const unreadable: string[] = [];
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(benchDir, `${name}${suffix}`)],
    {
      cwd: rootDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    const read = parseBenchLine(line);
    if (read && 'figure' in read) figures.push(read.figure);
    else if (read) unreadable.push(read.unreadable);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, benchTimeoutMs);
  return new Promise((resolve) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ name, figures, unreadable, failure: `could not start: ${error.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      let failure: string | null = null;
      if (timedOut) failure = `killed after ${benchTimeoutMs / 60_000} min`;
      else if (signal) failure = `killed by ${signal}`;
      else if (code !== 0) failure = `exit code ${code}`;
      resolve({ name, figures, unreadable, failure });
    });
  });
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
  const summary = summarise(results, declaredFigures);
  for (const line of summary.lines) process.stdout.write(`${line}\n`);
  return isFailedRun(summary, isFailOnMiss) ? 1 : 0;
}

process.exitCode = await main();

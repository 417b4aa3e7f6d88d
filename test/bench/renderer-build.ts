/** The renderer built for a benchmark, into a folder of its own. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const rootDir = new URL('../..', import.meta.url).pathname;

/** Builds the renderer into `outDir`, so a build elsewhere in the tree is not disturbed. */
export function buildRenderer(outDir: string): void {
  execFileSync(
    join(rootDir, 'node_modules', '.bin', 'vite'),
    [
      'build',
      '--config',
      join(rootDir, 'renderer', 'vite.config.ts'),
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'error',
    ],
    { cwd: rootDir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

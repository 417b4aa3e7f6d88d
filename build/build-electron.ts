/**
 * `npm run build:electron`: bundles the shell for Electron. Main becomes one ES module
 * (package.json is `"type": "module"` and names dist-electron/main.js); the preload becomes one
 * CommonJS file, because a sandboxed preload can neither load ES modules nor require files of
 * its own. `electron` stays external: Electron provides it at run time.
 */
import { build, type BuildOptions } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist-electron`;

const shared: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  external: ['electron'],
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
};

await rm(outdir, { recursive: true, force: true });
await Promise.all([
  build({
    ...shared,
    entryPoints: ['electron/main/index.ts'],
    outfile: `${outdir}/main.js`,
    platform: 'node',
    format: 'esm',
    // The Node.js inside Electron 40 is newer; node20 is the floor the project supports.
    target: 'node20',
  }),
  build({
    ...shared,
    entryPoints: ['electron/preload/index.ts'],
    outfile: `${outdir}/preload.cjs`,
    // A sandboxed preload has no Node.js built-ins; 'browser' makes any such import an error.
    platform: 'browser',
    format: 'cjs',
    target: 'chrome120',
  }),
]);
process.stdout.write(`bivouac: built the Electron shell into ${outdir}\n`);

/**
 * `npm run build:appliance`: the appliance as one ES module, `dist/appliance/src/server.js`, and
 * the `bivouac` CLI as another, `dist/appliance/src/cli.js`, run with plain node (no TypeScript loader in memory at run time), plus the files it reads beside
 * its code: the shipped catalog, the guest agent and, when built, the tiny guest image. npm
 * packages stay external.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/appliance`;

await rm(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { server: 'appliance/src/server.ts', cli: 'appliance/src/cli/main.ts' },
  outdir: `${out}/src`,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  legalComments: 'none',
});
// V8 keeps a module's source in memory for as long as the module lives, as one byte per character
// when it is all ASCII and two otherwise: one non-ASCII character in a comment esbuild keeps
// (a doc comment inside an object literal) doubles what the whole bundle costs at rest.
for (const file of ['server.js', 'cli.js']) {
  const text = await readFile(`${out}/src/${file}`, 'utf8');
  const at = text.search(/[\u0080-\uffff]/);
  if (at >= 0) {
    const line = text.slice(0, at).split('\n').length;
    throw new Error(
      `dist/appliance/src/${file}:${line} has a non-ASCII character (${JSON.stringify(text[at])}); write it as ASCII in the source (an escape in a string, plain words in a comment)`,
    );
  }
}
await chmod(`${out}/src/cli.js`, 0o755);
await cp(`${root}appliance/apps`, `${out}/apps`, { recursive: true });
await mkdir(`${out}/src/guest`, { recursive: true });
await cp(`${root}appliance/src/guest/bivouac-agent`, `${out}/src/guest/bivouac-agent`);
await chmod(`${out}/src/guest/bivouac-agent`, 0o755);
// The tiny guest (build/tiny-guest.sh), when built, ships beside the appliance as its image.
if (existsSync(`${root}build/out/tiny/image.json`)) {
  await mkdir(`${out}/images/tiny`, { recursive: true });
  for (const file of ['image.json', 'vmlinux', 'initrd.gz'])
    await copyFile(`${root}build/out/tiny/${file}`, `${out}/images/tiny/${file}`);
}
process.stdout.write(`bivouac: built the appliance into ${out}\n`);

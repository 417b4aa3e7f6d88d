/**
 * `npm test`'s file-length step: no source file (TypeScript, JavaScript, CSS) in appliance/,
 * renderer/, electron/ or test/ is over 400 lines, counted after Prettier (as the project
 * formats it), so a file keeps one reason to change. Prints each file over it with its count and
 * exits 1; `--list N` prints the N longest instead.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';

export const maxLines = 400;
const folders = ['appliance', 'renderer', 'electron', 'test'];
const sourcePattern = /\.(ts|tsx|js|mjs|cjs|css)$/;

/** The source files git tracks in the folders. */
function sourceFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--', ...folders], { encoding: 'utf8' })
    .split('\0')
    .filter((path) => sourcePattern.test(path));
}

/** Lines of `text` once Prettier has formatted it (a final newline does not count as a line). */
export async function linesAfterPrettier(path: string, text: string): Promise<number> {
  const options = (await resolveConfig(path)) ?? {};
  const formatted = await format(text, { ...options, filepath: path });
  return formatted.split('\n').length - (formatted.endsWith('\n') ? 1 : 0);
}

const counts: { path: string; lines: number }[] = [];
for (const path of sourceFiles())
  counts.push({ path, lines: await linesAfterPrettier(path, readFileSync(path, 'utf8')) });
counts.sort((a, b) => b.lines - a.lines);

const listIndex = process.argv.indexOf('--list');
if (listIndex >= 0) {
  for (const { path, lines } of counts.slice(0, Number(process.argv[listIndex + 1] ?? 10)))
    process.stdout.write(`${lines} ${path}\n`);
} else {
  const over = counts.filter((count) => count.lines > maxLines);
  for (const { path, lines } of over)
    process.stdout.write(`${path}: ${lines} lines after Prettier (at most ${maxLines})\n`);
  process.stdout.write(
    `${counts.length} source files, ${over.length} over ${maxLines} lines; the longest: ${counts[0]?.path} (${counts[0]?.lines})\n`,
  );
  process.exitCode = over.length > 0 ? 1 : 0;
}

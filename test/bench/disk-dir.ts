import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** File systems in memory: fsync costs nothing there, so a durable write would be measured as free. */
const inMemory = new Set(['tmpfs', 'ramfs']);

/**
 * A fresh folder for a bench that measures writes to disk, on the disk the data lives on rather
 * than in the temp folder (tmpfs on many systems): under `BIVOUAC_BENCH_DIR` when set, else in the
 * project's `.bench-tmp/`, on the same disk as `./.data`, where `npm start` keeps its data. Says on
 * stderr which file system it is (`stat -f`), and refuses one in memory.
 */
export async function benchDiskDir(
  prefix: string,
): Promise<{ directory: string; fileSystem: string }> {
  const base =
    process.env.BIVOUAC_BENCH_DIR || fileURLToPath(new URL('../../.bench-tmp/', import.meta.url));
  await mkdir(base, { recursive: true });
  const directory = await mkdtemp(join(base, prefix));
  const fileSystem = execFileSync('stat', ['-f', '-c', '%T', directory], {
    encoding: 'utf8',
  }).trim();
  if (inMemory.has(fileSystem))
    throw new Error(
      `${directory} is on ${fileSystem}, where fsync costs nothing; set BIVOUAC_BENCH_DIR to a folder on the data disk`,
    );
  process.stderr.write(`writing in ${directory} (file system: ${fileSystem})\n`);
  return { directory, fileSystem };
}

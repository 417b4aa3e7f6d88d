import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);

describe("the CLI's error codes", () => {
  it('are each documented in the README', async () => {
    const folder = new URL('appliance/src/cli/', root);
    const sources = await Promise.all(
      (await readdir(folder)).map((file) => readFile(new URL(file, folder), 'utf8')),
    );
    const codes = new Set(
      sources.flatMap((source) =>
        [...source.matchAll(/new CliError\(\s*'([A-Z_]+)'/g)].map((match) => match[1]!),
      ),
    );
    expect(codes.size).toBeGreaterThan(10);
    const readme = await readFile(new URL('README.md', root), 'utf8');
    expect([...codes].filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });
});

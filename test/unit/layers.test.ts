import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: repoRoot });

/** The layer rule's complaints about one import written into a file at `path` (not on disk). */
async function complaints(path: string, specifier: string): Promise<string[]> {
  const code = `import { thing } from '${specifier}';\nexport const used = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}/${path}` });
  return result!.messages
    .filter((message) => message.ruleId === 'no-restricted-imports')
    .map((message) => message.message);
}

describe('the layer table (eslint.config.js)', () => {
  it.each([
    ['appliance/src/store/x.ts', '../catalog/apps.ts', /store\/ may import domain/],
    ['appliance/src/connectors/x.ts', '../api/errors-http.ts', /connectors\/ may import/],
    ['appliance/src/connectors/libvirt/x.ts', '../../api/errors-http.ts', /connectors\//],
    ['appliance/src/orchestrator/x.ts', '../api/auth/accounts.ts', /orchestrator\//],
    ['appliance/src/orchestrator/x.ts', '../catalog/apps.ts', /orchestrator\//],
    ['appliance/src/host/x.ts', '../connectors/contract.ts', /host\//],
    ['appliance/src/library/x.ts', '../orchestrator/runs.ts', /library\//],
    ['appliance/src/catalog/x.ts', '../app.ts', /catalog\//],
    ['appliance/src/domain/x.ts', 'node:fs', /domain\//],
    ['appliance/src/domain/x.ts', '../store/document.ts', /domain\//],
    ['appliance/src/api/schemas.ts', '../catalog/apps.ts', /API contract is pure/],
    ['appliance/src/api/contract.ts', './routes/run-routes.ts', /API contract is pure/],
    ['renderer/src/x.ts', '../../appliance/src/orchestrator/runs.ts', /renderer talks/],
    ['renderer/src/x.ts', '../../appliance/src/errors.ts', /renderer talks/],
  ])('reports %s importing %s', async (path, specifier, reason) => {
    const found = await complaints(path, specifier);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(reason);
  });

  it.each([
    ['appliance/src/orchestrator/x.ts', '../connectors/contract.ts'],
    ['appliance/src/orchestrator/x.ts', '../library/modules.ts'],
    ['appliance/src/api/routes/x.ts', '../../catalog/apps.ts'],
    ['appliance/src/host/x.ts', '../errors.ts'],
    ['appliance/src/api/contract.ts', './schemas.ts'],
    ['appliance/src/api/schemas.ts', '../domain/manifest.ts'],
    ['renderer/src/x.ts', '../../appliance/src/api/contract.ts'],
    ['renderer/src/x.ts', '../../appliance/src/domain/run-states.ts'],
  ])('lets %s import %s', async (path, specifier) => {
    expect(await complaints(path, specifier)).toEqual([]);
  });
});

describe('kinds of cloud stay in connectors/', () => {
  const reading = `export const image = (node: { nativeImages: Record<string, { imageId: string }> }) =>
  node.nativeImages.libvirt?.imageId;\n`;
  const complaintsAbout = async (path: string) =>
    (await eslint.lintText(reading, { filePath: `${repoRoot}/${path}` }))[0]!.messages
      .filter((message) => message.ruleId === 'no-restricted-syntax')
      .map((message) => message.message);

  it.each([
    'appliance/src/orchestrator/x.ts',
    'appliance/src/catalog/x.ts',
    'appliance/src/library/x.ts',
    'appliance/src/api/routes/x.ts',
  ])('reports %s reading one kind of nativeImages', async (path) => {
    expect(await complaintsAbout(path)).toEqual([
      expect.stringMatching(/Only connectors\/ knows kinds/),
    ]);
  });

  it('lets connectors/ read it', async () => {
    expect(await complaintsAbout('appliance/src/connectors/x.ts')).toEqual([]);
  });
});

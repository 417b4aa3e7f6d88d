import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MainDocument } from '../../appliance/src/store/document.ts';
import { openStore, StoreOpenError } from '../../appliance/src/store/open-store.ts';
import { decodeDocument } from '../../appliance/src/store/run-content.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useRunsBox } from '../fixtures/runs-box.ts';

interface StoredNodeOnDisk {
  name: string;
  image: string[];
  contentHash: string | null;
  recipes?: unknown;
  inputs?: unknown;
}
interface OnDisk {
  runs: { id: string; nodes: StoredNodeOnDisk[] }[];
  modules: { path: string; versions: { version: number; content: { recipes?: object } }[] }[];
}

/**
 * A run keeps what its nodes took from their image chains by reference: the chain's module
 * versions and the content's hash, in the main document and the archive alike (store/run-content.ts).
 * On libvirt's test driver, guests played by a stand-in.
 */
describe("runs' content by reference", () => {
  let box: TestAppliance;
  let admin: Client;
  const { deploy, terminate } = useRunsBox((parts) => ({ box, admin } = parts));
  const subject = () => ({ userId: admin.userId, role: 'admin' as const });
  const onDisk = async () =>
    JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8')) as OnDisk;

  it("writes a run's nodes as their image chains and a hash, reads them back whole, and an archived run still reads its recipes once its modules are deleted", async () => {
    const created = await deploy({ module: '/t/app', parameters: { 'db:password': 's3cret' } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    const inMemory = box.services.runs.get(subject(), id).nodes;
    expect(inMemory.map((node) => [node.name, node.image, node.recipes])).toEqual([
      ['db', ['/t/db@1'], { deploy: 'serve' }],
      ['web', ['/t/web@1'], { deploy: 'serve-web' }],
    ]);
    await box.services.store.flush();
    const stored = (await onDisk()).runs.find((run) => run.id === id)!.nodes;
    expect(stored.map((node) => [node.name, node.image, node.recipes, node.inputs])).toEqual([
      ['db', ['/t/db@1'], undefined, undefined],
      ['web', ['/t/web@1'], undefined, undefined],
    ]);
    expect(stored.map((node) => node.contentHash)).toEqual(
      inMemory.map(() => expect.stringMatching(/^[0-9a-f]{64}$/)),
    );

    // Ended and archived, its modules deleted: the versions it names stay, and it reads them.
    expect((await terminate(id)).statusCode).toBe(202);
    await box.services.runs.idle();
    await box.services.archiver.archiveOne(subject(), id);
    for (const path of ['/t/app', '/t/web', '/t/db']) {
      const deleted = await box.app.inject({
        method: 'DELETE',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
      });
      expect(deleted.statusCode, deleted.body).toBe(204);
    }
    const archived = await box.services.runs.queries.view(subject(), id);
    expect(archived.archived).toBe(true);
    expect(archived.nodes).toEqual(inMemory);
    const segment = (await readFile(join(box.dataDir, 'archive', await segmentOf()), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { run: { nodes: StoredNodeOnDisk[] } });
    expect(segment[0]!.run.nodes.map((node) => node.recipes)).toEqual([undefined, undefined]);
  });

  it('reads a node back from the versions its image chain was resolved to, though its parent reference floats and the parent has a newer version since', async () => {
    const save = async (path: string, content: object) => {
      const saved = await box.app.inject({
        method: 'PUT',
        url: `/api/v1/modules?path=${path}`,
        headers: as(admin),
        payload: { content, message: 'test' },
      });
      expect(saved.statusCode, saved.body).toBe(200);
    };
    const base = box.services.store.data.modules.find((module) => module.path === '/t/db')!;
    const native = (base.versions[0]!.content as { nativeImages: object }).nativeImages;
    await save('/t/base', {
      kind: 'image',
      nativeImages: native,
      resources: { memoryMiB: 256 },
      recipes: { deploy: 'base v1', onNodeAdd: 'added' },
      outputs: [{ name: 'ready' }],
    });
    await save('/t/child', { kind: 'image', parent: '/t/base', recipes: { deploy: 'child' } });
    const created = await deploy({ module: '/t/child' });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    const inMemory = box.services.runs.get(subject(), id).nodes;
    expect(inMemory[0]).toMatchObject({
      image: ['/t/child@1', '/t/base@1'],
      recipes: { deploy: 'child', onNodeAdd: 'added' },
      resources: { memoryMiB: 256 },
    });
    // The parent moves on; the run still reads what it was made from.
    await save('/t/base', { kind: 'image', nativeImages: native, recipes: { deploy: 'base v2' } });
    await box.services.store.flush();
    const reread = decodeDocument(
      JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8')) as MainDocument,
    );
    expect(reread.runs.find((run) => run.id === id)!.nodes).toEqual(inMemory);
  });

  it('refuses to open a store whose module version no longer gives a run its content, naming the run', async () => {
    const created = await deploy({ module: '/t/db', parameters: { 'db:password': 'x' } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    await box.services.store.flush();
    const document = await onDisk();
    const version = document.modules.find((module) => module.path === '/t/db')!.versions[0]!;
    version.content.recipes = { deploy: 'something else' };
    const copy = join(box.dataDir, 'tampered');
    await mkdir(copy);
    await writeFile(join(copy, 'bivouac.json'), JSON.stringify(document));
    const refused = await openStore(copy).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreOpenError);
    expect((refused as Error).message).toMatch(
      new RegExp(`Run ${id}, node db: its image chain /t/db@1 no longer gives the content`),
    );
  });

  async function segmentOf(): Promise<string> {
    return (await readdir(join(box.dataDir, 'archive'))).find((name) => name.endsWith('.runs'))!;
  }
});

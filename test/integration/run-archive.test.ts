import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunArchive } from '../../appliance/src/store/run-archive.ts';
import {
  as,
  login,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

interface Listed {
  id: string;
  title: string;
  state: string;
  archived: boolean;
}

/**
 * Finished runs leave the main document for the archive and are still listed, searched, counted
 * and read; they are deleted and purged for good. On libvirt's test driver (no guest runs: the
 * runs here are terminated while provisioning, which is all a finished run needs).
 */
describe('the run archive', () => {
  let box: TestAppliance;
  let admin: Client;

  const call = (method: string, url: string, client: Client = admin, payload?: object) =>
    box.app.inject({
      method: method as 'GET',
      url: `/api/v1${url}`,
      headers: as(client),
      ...(payload ? { payload } : {}),
    });

  /** Deploys and terminates a run titled `title`, to its end. */
  async function finishedRun(title: string, client: Client = admin): Promise<string> {
    const created = await call('POST', '/runs', client, { module: '/a/one', title });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect((await call('POST', `/runs/${id}/terminate`, client)).statusCode).toBe(202);
    await box.services.runs.idle();
    return id;
  }

  beforeEach(async () => {
    box = await makeAppliance({ runs: { retryMs: 50 } });
    admin = await setupAdmin(box.app);
    const imageId = await importPlaceholderImage(box.services, admin.userId);
    for (const [path, content] of [
      ['/a', { kind: 'project' }],
      ['/a/one', { kind: 'image', nativeImages: { libvirt: { imageId } } }],
    ] as const) {
      const saved = await call('PUT', `/modules?path=${path}`, admin, {
        content,
        message: 'seed',
      });
      if (saved.statusCode !== 200) throw new Error(saved.body);
    }
    for (const path of ['/a', '/a/one']) {
      const shared = await call('PUT', `/modules/acl?path=${path}`, admin, {
        acl: [{ role: 'operator', allow: ['view', 'run'] }],
      });
      if (shared.statusCode !== 200) throw new Error(shared.body);
    }
    await box.services.runs.start();
  });
  afterEach(async () => {
    await box.services.reconciler.stop();
    await box.services.runs.stop();
    await box.services.clouds.close();
    await box.close();
  });

  it('moves finished runs out of the main document and answers lists, searches, counts, reads and logs as before', async () => {
    const ids = [await finishedRun('first alpha'), await finishedRun('second beta')];
    const live = (
      await call('POST', '/runs', admin, { module: '/a/one', title: 'live gamma' })
    ).json<{ id: string }>().id;
    await box.services.runs.idle();
    const answers = async () => ({
      list: (await call('GET', '/runs')).json<{ runs: Listed[]; total: number }>(),
      search: (await call('GET', '/runs?q=beta'))
        .json<{ runs: Listed[] }>()
        .runs.map((run) => run.id),
      paged: (await call('GET', '/runs?limit=1&offset=1'))
        .json<{ runs: Listed[] }>()
        .runs.map((run) => run.id),
      counts: (await call('GET', '/runs/counts')).json<{ byState: Record<string, number> }>(),
      runs: await Promise.all(
        ids.map(async (id) => (await call('GET', `/runs/${id}`)).json<Record<string, unknown>>()),
      ),
      logs: await Promise.all(
        ids.map(async (id) => (await call('GET', `/runs/${id}/log`)).json<unknown[]>()),
      ),
      vms: await Promise.all(
        ids.map(
          async (id) =>
            (await call('GET', `/vms?runId=${id}&include=all`)).json<{ vms: { id: string }[] }>()
              .vms,
        ),
      ),
    });
    const before = await answers();
    expect(before.list.runs.map((run) => run.id)).toEqual([live, ids[1], ids[0]]);
    expect(before.logs[0]!.length).toBeGreaterThan(0);

    expect(await box.services.archiver.archiveFinished(ids)).toBe(2);
    const { data } = box.services.store;
    expect(data.runs.map((run) => run.id)).toEqual([live]);
    expect(data.vms.filter((vm) => ids.includes(vm.runId))).toEqual([]);

    const after = await answers();
    const unflagged = <T extends { archived?: boolean }>(runs: T[]) =>
      runs.map(({ archived: _archived, ...rest }) => rest);
    expect(unflagged(after.list.runs)).toEqual(unflagged(before.list.runs));
    expect(after.list.runs.map((run) => run.archived)).toEqual([false, true, true]);
    expect(after.list.total).toBe(3);
    expect(after.search).toEqual(before.search);
    expect(after.search).toEqual([ids[1]]);
    expect(after.paged).toEqual(before.paged);
    expect(after.counts).toEqual(before.counts);
    expect(unflagged(after.runs)).toEqual(unflagged(before.runs));
    expect(after.runs.map((run) => run.archived)).toEqual([true, true]);
    expect(after.logs).toEqual(before.logs);
    expect(after.vms).toEqual(before.vms);

    // Read, not changed: an archived run refuses actions with WRONG_STATE.
    const refused = await call('POST', `/runs/${ids[0]}/terminate`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      error: { code: 'WRONG_STATE', details: { archived: true } },
    });

    // What a new start reads: the same archive, from its files alone.
    const reopened = await RunArchive.open(join(box.dataDir, 'archive'));
    expect(reopened.summaries().map((summary) => summary.id)).toEqual([ids[1], ids[0]]);
    expect((await reopened.read(ids[0]!))?.run.log).toEqual(
      (await box.services.archive.read(ids[0]!))?.run.log,
    );
  });

  it('archives by age on its own, and leaves live runs and runs with work under way', async () => {
    const old = await finishedRun('old');
    const live = (await call('POST', '/runs', admin, { module: '/a/one', title: 'live' })).json<{
      id: string;
    }>().id;
    // Nothing is old enough at the shipped age (an hour).
    expect(await box.services.archiver.archiveFinished()).toBe(0);
    const aged = box.services.store.data.runs.find((run) => run.id === old)!;
    await box.services.store.update((document) => {
      document.runs.find((run) => run.id === old)!.stateEnteredAt = new Date(
        Date.parse(aged.stateEnteredAt) - 2 * 3_600_000,
      ).toISOString();
    });
    expect(await box.services.archiver.archiveFinished()).toBe(1);
    expect(box.services.store.data.runs.map((run) => run.id)).toEqual([live]);
    // A live run is not archived even when asked by name.
    const refused = await call('POST', `/runs/${live}/archive`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'WRONG_STATE' } });
  });

  it('loses and doubles no run when stopped between writing the archive and the main document', async () => {
    const id = await finishedRun('cut short');
    const run = structuredClone(
      box.services.store.data.runs.find((candidate) => candidate.id === id)!,
    );
    // The first step alone, as a crash right after it leaves it: in the archive and the main document.
    await box.services.archive.add([{ run, vms: [], archivedAt: new Date().toISOString() }]);
    const listed = (await call('GET', '/runs')).json<{ runs: Listed[]; total: number }>();
    expect(listed.runs.map((listedRun) => [listedRun.id, listedRun.archived])).toEqual([
      [id, false],
    ]);
    expect(listed.total).toBe(1);
    expect((await call('GET', '/runs/counts')).json<{ total: number }>().total).toBe(1);
    // The next pass finishes the move without writing the run again.
    const segments = async () => (await readdir(join(box.dataDir, 'archive'))).sort();
    const files = await segments();
    expect(await box.services.archiver.archiveFinished([id])).toBe(1);
    expect(await segments()).toEqual(files);
    expect(box.services.store.data.runs).toEqual([]);
    expect((await call('GET', '/runs')).json<{ total: number }>().total).toBe(1);

    // A segment whose index was never written (a crash in the first step) is dropped at open.
    const orphan = join(box.dataDir, 'archive', 'cut.runs');
    await writeFile(orphan, `${JSON.stringify({ run, vms: [], archivedAt: '' })}\n`);
    const reopened = await RunArchive.open(join(box.dataDir, 'archive'));
    expect(reopened.size).toBe(1);
    expect(await segments()).toEqual(files);
  });

  it('deletes finished runs for good, from either place, for those who manage them; purges old archived runs', async () => {
    const operator = await (async () => {
      const made = await call('POST', '/users', admin, {
        username: 'olga',
        password: 'operator password 1',
        role: 'operator',
      });
      expect(made.statusCode, made.body).toBe(201);
      return login(box.app, 'olga', 'operator password 1');
    })();
    const mine = await finishedRun('olga one', operator);
    const archivedMine = await finishedRun('olga two', operator);
    const adminsOwn = await finishedRun('admin own');
    const live = (await call('POST', '/runs', operator, { module: '/a/one', title: 'live' })).json<{
      id: string;
    }>().id;
    await box.services.archiver.archiveFinished([archivedMine, adminsOwn]);

    // Not theirs: not found. Not finished: refused, kept.
    expect((await call('DELETE', `/runs/${adminsOwn}`, operator)).statusCode).toBe(404);
    const running = await call('DELETE', `/runs/${live}`, operator);
    expect(running.statusCode).toBe(409);
    expect(running.json()).toMatchObject({ error: { code: 'WRONG_STATE' } });

    const events: string[] = [];
    const stop = box.services.events.subscribe((event) => {
      if (event.type === 'run.deleted') events.push(event.subject.id);
    });
    expect((await call('DELETE', `/runs/${mine}`, operator)).statusCode).toBe(204);
    expect((await call('DELETE', `/runs/${archivedMine}`, operator)).statusCode).toBe(204);
    stop();
    expect(events).toEqual([mine, archivedMine]);
    for (const id of [mine, archivedMine])
      expect((await call('GET', `/runs/${id}`, operator)).statusCode).toBe(404);
    expect(box.services.store.data.vms.filter((vm) => vm.runId === mine)).toEqual([]);
    expect(
      (await call('GET', '/runs', operator)).json<{ runs: Listed[] }>().runs.map((run) => run.id),
    ).toEqual([live]);

    // Purging is the administrators' and takes what ended before the time given.
    const purge = (client: Client, before: string) =>
      call('POST', '/runs/archive/purge', client, { before });
    expect((await purge(operator, new Date().toISOString())).statusCode).toBe(403);
    expect((await purge(admin, '2000-01-01T00:00:00Z')).json()).toEqual({ removed: 0 });
    expect((await purge(admin, new Date(Date.now() + 1000).toISOString())).json()).toEqual({
      removed: 1,
    });
    expect(box.services.archive.size).toBe(0);
    // Every segment's runs are gone, so are its files; nothing removed is left listed.
    const left = await readdir(join(box.dataDir, 'archive'));
    expect(left).toEqual(['removed.json']);
    expect(
      JSON.parse(await readFile(join(box.dataDir, 'archive', 'removed.json'), 'utf8')),
    ).toEqual([]);
  });
});

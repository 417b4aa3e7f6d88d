import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  startAppliance,
  type ApiAnswer,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

const fixture = join(import.meta.dirname, '..', 'fixtures', 'stores', '84f3f21-200-runs.tar.gz');
const adminPassword = 'fixture-admin-84f3f21';

interface OldEntry {
  time: string;
  actor: string;
  action: string;
  detail: string;
}
interface OldRun {
  id: string;
  title: string;
  state: string;
  tags: string[];
  createdAt: string;
  log: OldEntry[];
}
interface OldVm {
  id: string;
  runId: string;
  nativeId: string;
  state: string;
}
interface Listed {
  id: string;
  title: string;
  state: string;
  archived: boolean;
}

/** What the API answers of the runs: every page of the list, two searches, every log, some VMs. */
async function answers(api: (method: string, path: string) => Promise<ApiAnswer>) {
  const listed: Listed[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = (await api('GET', `/runs?limit=200&offset=${offset}`)).body as {
      runs: Listed[];
    };
    listed.push(...page.runs);
    if (page.runs.length < 200) break;
  }
  const search = async (query: string) =>
    ((await api('GET', `/runs?${query}&limit=200`)).body as { runs: Listed[] }).runs.map(
      (run) => run.id,
    );
  const logs: Record<string, unknown> = {};
  for (const run of listed) logs[run.id] = (await api('GET', `/runs/${run.id}/log`)).body;
  const vms: Record<string, unknown> = {};
  for (const run of listed.slice(0, 20))
    vms[run.id] = (
      (await api('GET', `/vms?runId=${run.id}&include=all`)).body as { vms: OldVm[] }
    ).vms.map((vm) => [vm.id, vm.nativeId, vm.state]);
  return {
    list: listed.map((run) => [run.id, run.title, run.state]),
    archived: listed.map((run) => run.archived),
    titleSearch: await search('q=field-run-17'),
    tagSearch: await search('tag=night-shift'),
    logs,
    vms,
  };
}

/**
 * A store written by the appliance at 84f3f21 (schema 10, 200 finished runs with their logs and
 * VM records; test/fixtures/stores/README.md) opened by today's built appliance: it migrates,
 * archives every run with its log (archive age 0 here, so the test does not hang on when the
 * fixture was captured), and answers the list, searches, logs and VMs as the old store held them;
 * a second start changes nothing.
 */
describe('a store from 84f3f21 with 200 finished runs, migrated (the built appliance)', () => {
  let dataDir: string;
  let old: { runs: OldRun[]; vms: OldVm[] };
  const running: ApplianceProcess[] = [];

  async function start() {
    const appliance = await startAppliance(dataDir, {}, 60_000);
    running.push(appliance);
    return { appliance, api: await adminApi(() => appliance.url, adminPassword) };
  }

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-migration-');
    execFileSync('tar', ['-xzf', fixture, '-C', dataDir]);
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ archiveAfterHours: 0 }));
    old = JSON.parse(await readFile(join(dataDir, 'bivouac.json'), 'utf8')) as typeof old;
  });
  afterAll(async () => {
    for (const appliance of running) await appliance.stop('SIGKILL').catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('moves runs and logs out of the main document, answers as the old store held them, and a second start is a no-op', async () => {
    expect(old.runs).toHaveLength(200);
    // What the old store holds, as the API showed it: newest first.
    const newestFirst = [...old.runs].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const expected = {
      list: newestFirst.map((run) => [run.id, run.title, run.state]),
      archived: newestFirst.map(() => true),
      titleSearch: newestFirst
        .filter((run) => run.title.includes('field-run-17'))
        .map((run) => run.id),
      tagSearch: newestFirst.filter((run) => run.tags.includes('night-shift')).map((run) => run.id),
      logs: Object.fromEntries(old.runs.map((run) => [run.id, run.log])),
      vms: Object.fromEntries(
        newestFirst
          .slice(0, 20)
          .map((run) => [
            run.id,
            old.vms.filter((vm) => vm.runId === run.id).map((vm) => [vm.id, vm.nativeId, vm.state]),
          ]),
      ),
    };
    expect(expected.titleSearch.length).toBe(11); // field-run-17 and -170 … -179
    expect(expected.tagSearch.length).toBe(67);

    const first = await start();
    const migrated = await answers(first.api);
    expect(migrated).toEqual(expected);
    expect(Object.values(migrated.logs).flat()).toHaveLength(2582);
    await first.appliance.stop();
    const document = JSON.parse(await readFile(join(dataDir, 'bivouac.json'), 'utf8')) as {
      schemaVersion: number;
      runs: unknown[];
      vms: unknown[];
    };
    expect(document.schemaVersion).toBeGreaterThanOrEqual(15);
    expect(document.runs).toEqual([]);
    expect(document.vms).toEqual([]);
    const backups = await readdir(join(dataDir, 'backups'));
    expect(backups.filter((name) => name.includes('.v10.pre-migration'))).toHaveLength(1);
    const archive = (await readdir(join(dataDir, 'archive'))).sort();

    // Again: nothing left to migrate or move.
    const second = await start();
    expect(await answers(second.api)).toEqual(expected);
    await second.appliance.stop();
    expect((await readdir(join(dataDir, 'archive'))).sort()).toEqual(archive);
    expect(
      (await readdir(join(dataDir, 'backups'))).filter((name) => name.includes('pre-migration')),
    ).toEqual(backups.filter((name) => name.includes('pre-migration')));
    expect(
      second.appliance.logs.some((line) => line.msg === 'moved finished runs to the archive'),
    ).toBe(false);
    expect(
      first.appliance.logs.some((line) => line.msg === 'moved finished runs to the archive'),
    ).toBe(true);
  }, 240_000);
});

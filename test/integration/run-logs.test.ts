import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunLogEntry } from '../../appliance/src/domain/runs.ts';
import type { NumberedEntry } from '../../appliance/src/domain/runs.ts';
import { RunLogs } from '../../appliance/src/store/run-logs.ts';
import { as, tempDir, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useRunsBox } from '../fixtures/runs-box.ts';

/**
 * Run logs live out of the main document, in a file per run (store/run-logs.ts): on libvirt's
 * test driver, guests played by a stand-in.
 */
describe('run logs in files of their own', () => {
  let box: TestAppliance;
  let admin: Client;
  const { deploy, terminate } = useRunsBox((parts) => ({ box, admin } = parts));

  const logOf = async (id: string) => {
    const answer = await box.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${id}/log`,
      headers: as(admin),
    });
    expect(answer.statusCode, answer.body).toBe(200);
    return answer.json<RunLogEntry[]>();
  };
  const storedRun = (id: string) => box.services.store.data.runs.find((run) => run.id === id)!;

  /** A 3-VM run deployed, then terminated, to its end. */
  async function endedRun(): Promise<string> {
    const created = await deploy({ module: '/t/app', parameters: { 'db:password': 's3cret' } });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    expect((await terminate(id)).statusCode).toBe(202);
    await box.services.runs.idle();
    await box.services.runLogs.settled();
    return id;
  }

  it("keeps a run's log in its file: the main document holds only what its last change logged, and the log answers every entry in order", async () => {
    const id = await endedRun();
    const answer = await logOf(id);
    const run = storedRun(id);
    expect(run.state).toBe('Done');
    expect(answer.map((entry) => entry.action)).toContain('created');
    expect(answer.map((entry) => entry.action)).toContain('terminate');
    expect(answer).toHaveLength(run.logged);
    // The file holds every entry, numbered; the document at most the last change's.
    const filed = await box.services.runLogs.read(id, 1000);
    expect(filed.map((entry) => entry.seq)).toEqual(answer.map((_, index) => index + 1));
    expect(filed.map(({ seq: _seq, ...entry }) => entry)).toEqual(answer);
    expect(run.log.length).toBeLessThan(answer.length / 2);
    expect(answer.slice(-run.log.length)).toEqual(run.log);
    const onDisk = await readFile(join(box.dataDir, 'bivouac.json'), 'utf8');
    expect(onDisk).not.toContain(answer[0]!.detail);

    // Deleting the run deletes its log file.
    await box.services.archiver.delete({ userId: admin.userId, role: 'admin' }, id);
    expect(await readdir(join(box.dataDir, 'run-logs'))).toEqual([]);
  });

  it('loses and doubles no entry when a crash came between a change and its log file; the start moves what the document still holds to the file', async () => {
    const id = await endedRun();
    const answer = await logOf(id);
    // As a crash leaves it: the document still holds entries the file has (the file was
    // written, the change dropping them was not) and one the file lacks (the file was not).
    const late = {
      time: new Date().toISOString(),
      actor: 'appliance',
      action: 'note',
      detail: 'late',
    };
    await box.services.store.update((document) => {
      const run = document.runs.find((candidate) => candidate.id === id)!;
      run.log = [...answer.slice(-3), late];
      run.logged = answer.length + 1;
    });
    expect(await logOf(id)).toEqual([...answer, late]);
    await box.services.runs.settleLogs();
    expect(storedRun(id).log).toEqual([]);
    expect(await logOf(id)).toEqual([...answer, late]);
  });
});

describe('a run log file', () => {
  let directory = '';
  afterEach(() => rm(directory, { recursive: true, force: true }));
  const entry = (seq: number): NumberedEntry => ({
    seq,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    actor: 'appliance',
    action: 'step',
    detail: `entry ${seq}`,
  });

  it('is rotated past its size, keeping the newest entries in two files at most, and appends each entry once', async () => {
    directory = await tempDir();
    const logs = await RunLogs.open(join(directory, 'run-logs'), { rotateBytes: 1000 });
    for (let seq = 1; seq <= 100; seq += 5)
      await logs.append('r-1', [seq, seq + 1, seq + 2, seq + 3, seq + 4].map(entry));
    // Again: nothing doubles.
    await logs.append('r-1', [98, 99, 100].map(entry));
    expect((await readdir(join(directory, 'run-logs'))).sort()).toEqual(['r-1.1.log', 'r-1.log']);
    const kept = await logs.read('r-1', 1000);
    expect(kept.at(-1)!.seq).toBe(100);
    expect(kept.length).toBeLessThan(40);
    expect(kept.map((each) => each.seq)).toEqual(kept.map((_, index) => kept[0]!.seq + index));
    expect(await logs.read('r-1', 3)).toEqual([98, 99, 100].map(entry));
    // A new start reads where the files end.
    const reopened = await RunLogs.open(join(directory, 'run-logs'), { rotateBytes: 1000 });
    await reopened.append('r-1', [100, 101].map(entry));
    expect((await reopened.read('r-1', 2)).map((each) => each.seq)).toEqual([100, 101]);
    await expect(reopened.read('../r-1', 1)).rejects.toThrow(/Not a run id/);
  });
});

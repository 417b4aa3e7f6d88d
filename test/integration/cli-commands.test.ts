import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { call } from '../../appliance/src/cli/http.ts';
import type { ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { useCliBox } from '../fixtures/cli-box.ts';

/**
 * The CLI's commands: apps listed and deployed, a run followed to its end on the event stream,
 * modules exported and imported as YAML, clouds added, tested and removed. Each test spawns the
 * built CLI up to twenty times, against the appliance process of test/fixtures/cli-box.ts.
 */
describe('the bivouac CLI: its commands', { timeout: 180_000 }, () => {
  let appliance: ApplianceProcess;
  let dataDir: string;
  let config: string;
  const { cli, signIn } = useCliBox((parts) => ({ appliance, dataDir, config } = parts));

  it('lists and deploys apps, follows a run to its end on the event stream, and says plainly what it refuses', async () => {
    // Hello web's base image: a placeholder, imported through the CLI's own client (the test
    // driver never boots it).
    await signIn();
    const saved = JSON.parse(await readFile(config, 'utf8')) as {
      token: string;
      certificate: string;
    };
    const box = { url: appliance.url, token: saved.token, certificate: saved.certificate };
    const files = await tempDir('bivouac-cli-tiny-');
    await writeFile(
      join(files, 'vmlinux'),
      Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(1024)]),
    );
    await writeFile(join(files, 'initrd.img'), gzipSync(Buffer.from('070701')));
    await call(box, 'importImage', {
      body: {
        kind: 'kernel',
        name: 'tiny',
        kernel: { path: join(files, 'vmlinux') },
        initrd: { path: join(files, 'initrd.img') },
        cmdline: 'console=ttyS0',
      },
    });
    await expect
      .poll(
        async () => (await call(box, 'listImages')).find((image) => image.name === 'tiny')?.status,
        { timeout: 30_000 },
      )
      .toBe('ready');

    const apps = await cli(['apps', '--json']);
    expect(apps.code).toBe(0);
    expect((JSON.parse(apps.out) as { id: string }[]).map((app) => app.id)).toContain('hello-web');
    expect((await cli(['apps'])).out).toMatch(/^APP\s+VERSION\s+TITLE\s+NEEDS\n(.*\n)*hello-web\s/);
    expect((await cli(['app', 'web-db'])).out).toMatch(
      /^web-db [\d.]+ {2}Web \+ database\n(.*\n)*needs the base image tiny: (.*\n)*\n--param KEY\s+TYPE\s+DEFAULT\s+LABEL\ndb:value\s+string\s+42\s+Value the database serves\n/,
    );

    const deployed = await cli(['deploy', 'hello-web', '--title', 'From the CLI', '--json']);
    expect(deployed.err).toBe('');
    expect(deployed.code).toBe(0);
    const id = (JSON.parse(deployed.out) as { id: string }).id;
    const runs = JSON.parse((await cli(['runs', '--json', '--text', 'From the CLI'])).out) as {
      runs: { id: string; title: string }[];
    };
    expect(runs.runs.map((run) => [run.id, run.title])).toEqual([[id, 'From the CLI']]);
    const shown = await cli(['run', id]);
    expect(shown.out).toMatch(
      new RegExp(`^${id}  From the CLI\\nstate    \\w+\\nmodule   /apps/hello-web/\\S+@\\d+`),
    );
    expect((await cli(['params', id])).out).toMatch(/^KEY\s+VALUE\n/);

    // The test driver runs no guest code, so the run never reaches Ready: scaling is refused
    // with the box's reason, and a wait for Ready ends at its timeout, leaving the run be.
    const scale = await cli(['scale', id, 'web', '2']);
    expect(scale.code).toBe(1);
    expect(scale.err).toMatch(/^WRONG_STATE: Run \S+ is \w+; scaling is allowed only in Ready\./);
    const waited = await cli(['deploy', 'hello-web', '--wait', '--timeout', '1']);
    expect(waited.code).toBe(1);
    expect(waited.err).toMatch(/TIMEOUT: Run (\S+) is still \w+ after 1 s/);
    const second = /TIMEOUT: Run (\S+) /.exec(waited.err)![1]!;

    for (const run of [id, second]) {
      const ended = await cli(['terminate', run, '--wait']);
      expect(ended).toMatchObject({
        code: 0,
        out: `Run ${run} ended: Done; nothing is left running.\n`,
      });
    }
    // A finished run is deleted for good, once said so.
    const unsure = await cli(['delete', second]);
    expect(unsure.code).toBe(2);
    expect(unsure.err).toContain('say --yes to go on');
    expect(await cli(['delete', second, '--yes'])).toMatchObject({
      code: 0,
      out: `Run ${second} deleted.\n`,
    });
    expect((await cli(['run', second])).err).toMatch(/^NOT_FOUND: /);

    expect((await cli(['clouds'])).out).toMatch(
      /^CLOUD\s+NAME\s+KIND\s+HEALTH\nbox\s.*libvirt\s+reachable/,
    );
    expect((await cli(['modules', '/apps'])).out).toMatch(
      /\n\/apps\/hello-web\s+project\s+\d+\n\/apps\/hello-web\/web\s+image\s+\d+/,
    );
    expect(await cli(['deploy', 'no-such-app'])).toMatchObject({ code: 1 });
    expect((await cli(['deploy', 'no-such-app'])).err).toMatch(/^NOT_FOUND: /);
    const usage = await cli(['deploy', 'hello-web', '--param', 'no-equals-sign']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('USAGE: --param no-equals-sign: expected NAME=VALUE.');
    expect((await cli(['sing'])).code).toBe(2);
    const bare = await cli([]);
    expect(bare).toMatchObject({ code: 2, out: '' });
    expect(bare.err).toContain('USAGE: Say what to do.');
    const help = await cli(['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toMatch(/^Usage: bivouac COMMAND \[options\]\n(.*\n)* {2}deploy APP /);
  });

  it('exports and imports modules as YAML, and adds, tests and removes a cloud', async () => {
    await signIn();
    const exported = await cli(['modules', 'export', '/apps/hello-web']);
    expect(exported.code).toBe(0);
    expect(exported.out).toContain('path: /apps/hello-web/web\n');
    const copy = exported.out.replaceAll('/apps/hello-web', '/cli-copy');
    expect((await cli(['modules', 'import', '-'], { stdin: copy })).err).toContain(
      'USAGE: modules import needs --message',
    );
    const imported = await cli(['modules', 'import', '-', '-m', 'copied from the store'], {
      stdin: copy,
    });
    expect(imported).toMatchObject({ code: 0, err: '' });
    expect(imported.out.trim().split('\n')).toContain('/cli-copy/web@1');
    expect((await cli(['modules', '/cli-copy'])).out).toMatch(/\n\/cli-copy\/web\s+image\s+1\n/);
    expect(
      (await cli(['modules', 'import', join(dataDir, 'no-such.yaml'), '-m', 'x'])).err,
    ).toMatch(/^FILE_UNREADABLE: /);

    const added = await cli(['clouds', 'add', 'Rack 2', 'test:///default', '--json']);
    expect(added.code).toBe(0);
    const cloud = JSON.parse(added.out) as { id: string; name: string };
    expect(cloud.name).toBe('Rack 2');
    expect(await cli(['clouds', 'test', cloud.id])).toMatchObject({
      code: 0,
      err: '',
      out: expect.stringMatching(/^Rack 2: reachable, [\d.]+ ms\.\n$/),
    });
    const unsure = await cli(['clouds', 'remove', cloud.id]);
    expect(unsure.code).toBe(2);
    expect(unsure.err).toContain('say --yes to go on');
    expect((await cli(['clouds'])).out).toContain('Rack 2');
    expect(await cli(['clouds', 'remove', cloud.id, '--yes'])).toMatchObject({
      code: 0,
      out: `Cloud ${cloud.id} removed.\n`,
    });
    expect((await cli(['clouds'])).out).not.toContain('Rack 2');
  });
});

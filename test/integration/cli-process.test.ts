import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { postAsAgent } from '../fixtures/agent-call.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { builtCliEntry } from '../fixtures/built-appliance.ts';
import {
  guestContexts,
  startPrivateLibvirtd,
  type GuestContext,
  type PrivateLibvirtd,
} from '../fixtures/private-libvirtd.ts';

const password = 'cli process password';

interface Running {
  /** Resolves once the CLI has exited and its output has been read to the end. */
  done: Promise<{ code: number | null; out: string; err: string }>;
  /** Resolves with the first match of `pattern` in standard error, as it is written. */
  errMatch(pattern: RegExp): Promise<RegExpExecArray>;
}

/** Starts the `bivouac` CLI as a user runs it (node on its sources), with its own config file. */
function startCli(args: string[], env: Record<string, string>, stdin = ''): Running {
  const child = spawn(process.execPath, [builtCliEntry, ...args], {
    env: { ...process.env, BIVOUAC_URL: '', BIVOUAC_TOKEN: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiting: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const wait of [...waiting]) {
      const match = wait.pattern.exec(err);
      if (match) {
        waiting.splice(waiting.indexOf(wait), 1);
        wait.resolve(match);
      }
    }
  });
  child.stdin.end(stdin);
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out, err })),
  );
  return {
    done,
    errMatch: (pattern) =>
      new Promise((resolve, reject) => {
        const match = pattern.exec(err);
        if (match) return resolve(match);
        waiting.push({ pattern, resolve });
        void done.then(() => reject(new Error(`the CLI exited before writing ${pattern}: ${err}`)));
      }),
  };
}

/**
 * The `bivouac` CLI's success paths and its own failure codes, each produced for real: a real
 * appliance process on a libvirt daemon of the test's own (the test driver, which runs no guest
 * code), plain HTTP on loopback. Where a run needs its guests to report, the test is their
 * stand-in: it reads each VM's agent token from the context its domain hands the guest, as the
 * guest would, and calls the agent API over HTTP.
 */
describe('the bivouac CLI against a real appliance process', () => {
  let daemon: PrivateLibvirtd;
  let appliance: ApplianceProcess;
  let api: Awaited<ReturnType<typeof adminApi>>;
  let home: string;
  let env: Record<string, string>;

  const cli = (args: string[], extra: Record<string, string> = {}, stdin = '') =>
    startCli(args, { ...env, ...extra }, stdin).done;

  /** The agent contexts of a run's instances, once it has `count` of them launched. */
  async function guestsOf(runId: string, count: number): Promise<GuestContext[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const guests = (await guestContexts(daemon.uri)).filter((guest) => guest.run === runId);
      if (guests.length >= count) return guests;
      if (Date.now() > deadline)
        throw new Error(`run ${runId} has ${guests.length} launched instances, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A guest stand-in's call to the agent API, with that guest's token. */
  async function asGuest(guest: GuestContext, path: string, body: unknown): Promise<number> {
    return (await postAsAgent(appliance.url, guest.token, path, body)).status;
  }

  /** Guest stand-ins report a run's deployment done, as the agent does after its recipes. */
  async function reportDeployed(runId: string, count = 1): Promise<void> {
    for (const guest of await guestsOf(runId, count)) {
      expect(await asGuest(guest, '/complete', { state: 'Executing' })).toBe(204);
      expect(await asGuest(guest, '/complete', { state: 'SendingReports' })).toBe(204);
    }
  }

  beforeAll(async () => {
    daemon = await startPrivateLibvirtd();
    appliance = await startAppliance(await tempDir('bivouac-cli-process-'), {
      BIVOUAC_LIBVIRT_URI: daemon.uri,
      BIVOUAC_ADMIN_PASSWORD: password,
    });
    api = await adminApi(() => appliance.url, password);
    // Hello web's base image: a placeholder (the test driver boots nothing).
    const files = await tempDir('bivouac-cli-process-image-');
    await writeFile(
      join(files, 'vmlinux'),
      Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(1024)]),
    );
    await writeFile(join(files, 'initrd'), gzipSync(Buffer.from('070701')));
    expect(
      (
        await api('POST', '/images/import', {
          kind: 'kernel',
          name: 'tiny',
          kernel: { path: join(files, 'vmlinux') },
          initrd: { path: join(files, 'initrd') },
        })
      ).status,
    ).toBe(202);
    const deadline = Date.now() + 30_000;
    const isSo = async () =>
      ((await api('GET', '/images')).body as unknown as { name: string; status: string }[]).some(
        (image) => image.name === 'tiny' && image.status === 'ready',
      ) &&
      ((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
        (app) => app.id === 'hello-web',
      );
    while (!(await isSo())) {
      if (Date.now() > deadline)
        throw new Error('the image or the shipped catalog is not there after 30 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    home = await tempDir('bivouac-cli-process-home-');
    env = { BIVOUAC_CLI_CONFIG: join(home, 'bivouac', 'cli.json') };
    // Plain http:// is accepted on the machine's own loopback address.
    const signedIn = await cli(
      ['login', appliance.url, '--user', 'admin', '--password-stdin'],
      {},
      `${password}\n`,
    );
    expect(signedIn).toMatchObject({ code: 0, err: '' });
  }, 90_000);
  afterAll(async () => {
    await appliance?.stop();
    await daemon?.stop();
  });

  it('deploy --wait follows a run to Ready on the event stream and shows it; scale resizes it', async () => {
    const deploying = startCli(
      ['deploy', 'hello-web', '--title', 'waited for', '--wait', '--timeout', '60'],
      env,
    );
    const [, id] = await deploying.errMatch(/Run (\S+) created; waiting for Ready/);
    await reportDeployed(id!);
    const deployed = await deploying.done;
    expect(deployed.code).toBe(0);
    expect(deployed.out).toMatch(
      new RegExp(
        `^${id}  waited for\\nstate    Ready\\nmodule   /apps/hello-web/web@\\d+\\n\\nINSTANCE\\s+STATE\\s+COMPLETED\\nweb\\.1\\s+running\\s+.*SendingReports`,
      ),
    );
    expect((await api('GET', `/runs/${id}`)).body).toMatchObject({ state: 'Ready' });

    const scaled = await cli(['scale', id!, 'web', '3']);
    expect(scaled.err).toBe('');
    expect(scaled.code).toBe(0);
    expect(scaled.out).toMatch(new RegExp(`^${id}  waited for\\nstate    Ready\\n`));
    expect(scaled.out).toMatch(/\nweb\.1\s+running\s+.*\nweb\.2\s+\w+.*\nweb\.3\s+\w+/);
    // The box launches the new instances: three VMs of the run on the daemon.
    expect(await guestsOf(id!, 3)).toHaveLength(3);
    const down = await cli(['scale', id!, 'web', '1', '--json']);
    expect(down.code).toBe(0);
    expect(
      (JSON.parse(down.out) as { nodes: { name: string; multiplicity: number }[] }).nodes,
    ).toMatchObject([{ name: 'web', multiplicity: 1 }]);
    expect(await cli(['terminate', id!, '--wait'])).toMatchObject({
      code: 0,
      out: `Run ${id} ended: Done; nothing is left running.\n`,
    });
  }, 90_000);

  it('deploy --wait exits 1 with RUN_ABORTED when a guest aborts the run', async () => {
    const deploying = startCli(['deploy', 'hello-web', '--wait', '--timeout', '60'], env);
    const [, id] = await deploying.errMatch(/Run (\S+) created; waiting for Ready/);
    const [guest] = await guestsOf(id!, 1);
    expect(await asGuest(guest!, '/abort', { reason: 'the disk is full' })).toBe(204);
    const waited = await deploying.done;
    expect(waited.code).toBe(1);
    expect(waited.err).toContain(`RUN_ABORTED: Run ${id} aborted: the disk is full.`);
    expect(waited.out).toBe('');
  }, 60_000);

  it('deploy --wait exits 1 with RUN_ENDED when the run is terminated before it was Ready', async () => {
    const deploying = startCli(['deploy', 'hello-web', '--wait', '--timeout', '60'], env);
    const [, id] = await deploying.errMatch(/Run (\S+) created; waiting for Ready/);
    await guestsOf(id!, 1);
    expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
    const waited = await deploying.done;
    expect(waited.err).toMatch(
      new RegExp(`RUN_ENDED: Run ${id} ended (Done|Cancelled) without being Ready\\.`),
    );
    expect(waited.code).toBe(1);
  }, 60_000);

  it('says CANCELLED when Ctrl-C is typed at the password prompt of a terminal', async () => {
    // A real terminal: util-linux `script` runs the CLI on a pseudo-terminal fed from our pipe.
    const command = [
      process.execPath,
      builtCliEntry,
      'login',
      appliance.url,
      '--user',
      'admin',
    ].join(' ');
    const child = spawn(
      'script',
      ['--quiet', '--flush', '--return', '--command', command, '/dev/null'],
      { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let screen = '';
    const prompted = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        screen += chunk.toString();
        if (screen.includes('Password: ')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await prompted;
    child.stdin.write('sec\u0003');
    const code = await exited;
    child.stdin.end();
    expect(screen).toContain('CANCELLED: Cancelled.');
    expect(screen).not.toContain('sec');
    expect(code).toBe(130);
  }, 60_000);

  it('says UNREACHABLE for a port nobody listens on, and nothing else', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const viaEnv = await cli(['runs'], { BIVOUAC_URL: closed, BIVOUAC_TOKEN: 'bvt_anything' });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.err).toMatch(
      new RegExp(`^UNREACHABLE: The box at ${closed} does not answer: .*ECONNREFUSED`),
    );
    const atLogin = await cli(
      ['login', closed.replace('http:', 'https:'), '--user', 'admin', '--password-stdin'],
      {},
      'x\n',
    );
    expect(atLogin.code).toBe(1);
    expect(atLogin.err).toMatch(
      /^UNREACHABLE: The box at https:\/\/127\.0\.0\.1:\d+ does not answer: .*ECONNREFUSED/,
    );
  });

  it('says BAD_ANSWER for a server that is not a Bivouac box', async () => {
    let answer: { status: number; type: string; body: string } = {
      status: 200,
      type: 'text/html',
      body: '<html>a router login page</html>',
    };
    const server: Server = createServer((_request, response) => {
      response.writeHead(answer.status, { 'content-type': answer.type });
      response.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runs = () => cli(['runs'], { BIVOUAC_URL: url, BIVOUAC_TOKEN: 'bvt_anything' });
    try {
      const html = await runs();
      expect(html.code).toBe(1);
      expect(html.err).toBe(
        `BAD_ANSWER: The box at ${url} answered with something that is not JSON; is it a Bivouac box?\n`,
      );
      answer = { status: 200, type: 'application/json', body: '{"runs":"none of yours"}' };
      const shaped = await runs();
      expect(shaped.code).toBe(1);
      expect(shaped.err).toMatch(
        /^BAD_ANSWER: The box's answer to listRuns is not what this CLI expects \(.*\); the box may run another version\./,
      );
      answer = { status: 502, type: 'text/plain', body: 'Bad Gateway' };
      const gateway = await runs();
      expect(gateway.code).toBe(1);
      expect(gateway.err).toBe('BAD_ANSWER: The box answered 502 with no error it explains.\n');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('says CONFIG_NOT_WRITTEN when the login cannot be kept, and revokes the token it made', async () => {
    const tokensBefore = ((await api('GET', '/tokens')).body as unknown as { id: string }[]).length;
    // The config path is a folder: the file cannot be written there.
    const folder = join(home, 'a-folder.json');
    await mkdir(folder);
    const onFolder = await cli(
      ['login', appliance.url, '--user', 'admin', '--password-stdin'],
      { BIVOUAC_CLI_CONFIG: folder },
      `${password}\n`,
    );
    expect(onFolder.code).toBe(1);
    expect(onFolder.err).toMatch(
      new RegExp(`^CONFIG_NOT_WRITTEN: The login could not be kept in ${folder}: `),
    );
    // Its folder's place is taken by a file: the folder cannot be made.
    const blocker = join(home, 'not-a-folder');
    await writeFile(blocker, 'a file');
    const underFile = await cli(
      ['login', appliance.url, '--user', 'admin', '--password-stdin'],
      { BIVOUAC_CLI_CONFIG: join(blocker, 'cli.json') },
      `${password}\n`,
    );
    expect(underFile.err).toMatch(
      new RegExp(`^CONFIG_NOT_WRITTEN: The login could not be kept in ${blocker}/cli.json: `),
    );
    expect(underFile.code).toBe(1);
    // Neither attempt left a token on the box that nobody keeps.
    expect(((await api('GET', '/tokens')).body as unknown as { id: string }[]).length).toBe(
      tokensBefore,
    );
  });
});

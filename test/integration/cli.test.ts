import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { call } from '../../appliance/src/cli/http.ts';
import { ensureTlsIdentity, fingerprintOf } from '../../appliance/src/host/tls.ts';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { builtCliEntry } from '../fixtures/built-appliance.ts';

const password = 'cli admin password';

interface Outcome {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the built CLI with `args`, its login config and environment in `options.env`, `options.stdin` typed. */
function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCliEntry, ...args], {
      env: { ...process.env, BIVOUAC_URL: '', BIVOUAC_TOKEN: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdin.end(options.stdin ?? '');
    // 'close': the process has exited and its output has been read to the end.
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A well-formed fingerprint that is not `fingerprint`: its first byte changed. */
function otherFingerprint(fingerprint: string): string {
  return fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
}

/**
 * The `bivouac` CLI as a user runs it, against the real appliance process serving HTTPS with its
 * own certificate (libvirt's test driver behind it). The appliance is shared; each test has a
 * config file of its own and signs in itself when it needs to, so any one runs alone (`-t`).
 */
// Each test spawns the built CLI (dist/appliance/src/cli.js, plain node) up to twenty times.
describe('the bivouac CLI', { timeout: 180_000 }, () => {
  let appliance: ApplianceProcess;
  let dataDir: string;
  let config: string;
  let fingerprint: string;

  const cli = (
    args: string[],
    options: { stdin?: string; env?: Record<string, string> } = {},
  ): Promise<Outcome> =>
    runCli(args, { ...options, env: { BIVOUAC_CLI_CONFIG: config, ...options.env } });
  const login = (extra: string[], typed = password) =>
    cli(['login', appliance.url, '--user', 'admin', '--password-stdin', ...extra], {
      stdin: `${typed}\n`,
    });
  /** A saved login in this test's config file, made as a user makes it. */
  const signIn = async () => {
    const signedIn = await login(['--fingerprint', fingerprint]);
    expect(signedIn).toMatchObject({ code: 0, err: '' });
  };

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-cli-');
    appliance = await startAppliance(dataDir, {
      BIVOUAC_TLS: 'always',
      BIVOUAC_ADMIN_PASSWORD: password,
    });
    fingerprint = fingerprintOf(await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8'));
  });
  afterAll(async () => {
    await appliance?.stop();
  });
  beforeEach(async () => {
    config = join(await tempDir('bivouac-cli-home-'), 'bivouac', 'cli.json');
    // What the box said of a refusal, beside the CLI's words, when a test fails.
    onTestFailed(() => {
      const warnings = appliance.logs.filter(
        (line) => typeof line.level === 'number' && line.level >= 40,
      );
      process.stderr.write(
        `the appliance's warnings and errors: ${JSON.stringify(warnings.slice(-20), null, 1)}\n`,
      );
    });
  });

  it('signs in only once the box certificate is the one the box shows, then keeps a token for this user alone', async () => {
    expect(appliance.url).toMatch(/^https:/);
    const before = await cli(['runs']);
    expect(before).toMatchObject({ code: 1, out: '' });
    expect(before.err).toContain(
      'NOT_SIGNED_IN: Not signed in: run `bivouac login URL --user NAME` first',
    );

    const unknown = await login([]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('CERTIFICATE_UNKNOWN');
    expect(unknown.err).toContain(`--fingerprint ${fingerprint}`);
    const other = await login(['--fingerprint', otherFingerprint(fingerprint)]);
    expect(other.code).toBe(1);
    expect(other.err).toContain(
      `CERTIFICATE_MISMATCH: The box presents the certificate ${fingerprint}`,
    );
    const wrong = await login(
      ['--fingerprint', fingerprint.toLowerCase().replaceAll(':', '')],
      'not the password',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^INVALID_CREDENTIALS: /);
    await expect(stat(config)).rejects.toThrow(/ENOENT/);

    const signedIn = await login(['--fingerprint', fingerprint.toLowerCase().replaceAll(':', '')]);
    expect(signedIn.err).toBe('');
    expect(signedIn.code).toBe(0);
    expect(signedIn.out).toContain(`Signed in to ${appliance.url} as admin`);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(config, 'utf8')) as {
      token: string;
      certificate: string;
    };
    expect(fingerprintOf(saved.certificate)).toBe(fingerprint);

    // Signing in again replaces the token: the one it replaces is revoked on the box.
    expect((await login(['--fingerprint', fingerprint])).code).toBe(0);
    const old = await cli(['clouds'], {
      env: {
        BIVOUAC_URL: appliance.url,
        BIVOUAC_TOKEN: saved.token,
        BIVOUAC_FINGERPRINT: fingerprint,
      },
    });
    expect(old.code).toBe(1);
    expect(old.err).toMatch(/^UNAUTHENTICATED: /);
    expect((await cli(['clouds'])).code).toBe(0);

    const clear = await cli(
      ['login', 'http://10.0.0.1:8080', '--user', 'admin', '--password-stdin'],
      { stdin: 'x\n' },
    );
    expect(clear.code).toBe(2);
    expect(clear.err).toContain(
      'over http:// the password and the token would travel in clear; use https://',
    );
  });

  it('sends nothing to a server presenting another certificate, at login or after it', async () => {
    await signIn();
    const impostor = await ensureTlsIdentity(await tempDir('bivouac-cli-impostor-'));
    const received: Buffer[] = [];
    const server = createServer({ key: impostor.key, cert: impostor.cert }, (socket) =>
      socket.on('data', (chunk: Buffer) => received.push(chunk)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const impostorUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const atLogin = await cli(
        ['login', impostorUrl, '--user', 'admin', '--password-stdin', '--fingerprint', fingerprint],
        { stdin: `${password}\n` },
      );
      expect(atLogin.code).toBe(1);
      expect(atLogin.err).toContain(
        `CERTIFICATE_MISMATCH: The box presents the certificate ${impostor.fingerprint}, not ${fingerprint}`,
      );

      // A saved login pointed at it: the pinned certificate is refused before the token goes out.
      const saved = await readFile(config, 'utf8');
      await writeFile(config, JSON.stringify({ ...JSON.parse(saved), url: impostorUrl }), {
        mode: 0o600,
      });
      const after = await cli(['runs']);
      await writeFile(config, saved, { mode: 0o600 });
      expect(after.code).toBe(1);
      expect(after.err).toContain(
        `CERTIFICATE_CHANGED: The box at ${impostorUrl} no longer presents the certificate signed in with (${fingerprint})`,
      );
      expect(Buffer.concat(received).length).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

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

  it('takes a token from the environment for scripts, pinned by BIVOUAC_FINGERPRINT', async () => {
    await signIn();
    const { token } = JSON.parse(await readFile(config, 'utf8')) as { token: string };
    const env = {
      BIVOUAC_URL: appliance.url,
      BIVOUAC_TOKEN: token,
      BIVOUAC_CLI_CONFIG: join(dataDir, 'none.json'),
    };
    const unpinned = await cli(['clouds'], { env });
    expect(unpinned.code).toBe(1);
    expect(unpinned.err).toMatch(
      /^CERTIFICATE_UNKNOWN: No authority on this machine vouches for the certificate of the box at \S+ \(self-signed certificate\)\. Sign in with `bivouac login`, which pins it, or set BIVOUAC_FINGERPRINT\. Nothing was sent\./,
    );
    expect(
      (await cli(['clouds'], { env: { ...env, BIVOUAC_FINGERPRINT: fingerprint } })).code,
    ).toBe(0);
  });

  it('refuses a saved login it cannot read, and logs out by revoking the token', async () => {
    await signIn();
    const saved = await readFile(config, 'utf8');
    const { token } = JSON.parse(saved) as { token: string };
    await writeFile(config, JSON.stringify({ ...JSON.parse(saved), url: 'not a url' }));
    const broken = await cli(['runs']);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain(`BAD_CONFIG: ${config} is not a saved Bivouac login (url: `);
    await writeFile(config, saved, { mode: 0o600 });

    const out = await cli(['logout']);
    expect(out).toMatchObject({ code: 0, out: `Signed out of ${appliance.url}.\n` });
    await expect(stat(config)).rejects.toThrow(/ENOENT/);
    // The token is gone from the box too.
    const after = await cli(['clouds'], {
      env: { BIVOUAC_URL: appliance.url, BIVOUAC_TOKEN: token, BIVOUAC_FINGERPRINT: fingerprint },
    });
    expect(after.code).toBe(1);
    expect(after.err).toMatch(/^UNAUTHENTICATED: /);
  });
});

/**
 * A box whose certificate an authority on this machine vouches for (a test CA made with openssl,
 * given to the CLI by NODE_EXTRA_CA_CERTS): `login` needs no fingerprint there, and one given is
 * still checked (README, "The CLI").
 */
describe('the bivouac CLI and a certificate an authority vouches for', { timeout: 120_000 }, () => {
  let appliance: ApplianceProcess;
  let caFile: string;
  let fingerprint: string;

  beforeAll(async () => {
    const pki = await tempDir('bivouac-cli-ca-');
    const dataDir = await tempDir('bivouac-cli-ca-box-');
    const tlsDir = join(dataDir, 'tls');
    await mkdir(tlsDir, { recursive: true, mode: 0o700 });
    caFile = join(pki, 'ca.pem');
    const openssl = (...args: string[]) =>
      execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(pki, 'ca.key'),
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=Bivouac test authority',
    );
    openssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(pki, 'box.csr'),
      '-subj',
      '/CN=127.0.0.1',
    );
    await writeFile(
      join(pki, 'box.ext'),
      'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
    );
    openssl(
      'x509',
      '-req',
      '-in',
      join(pki, 'box.csr'),
      '-CA',
      caFile,
      '-CAkey',
      join(pki, 'ca.key'),
      '-CAcreateserial',
      '-out',
      join(tlsDir, 'cert.pem'),
      '-days',
      '2',
      '-extfile',
      join(pki, 'box.ext'),
    );
    fingerprint = fingerprintOf(await readFile(join(tlsDir, 'cert.pem'), 'utf8'));
    appliance = await startAppliance(dataDir, {
      BIVOUAC_TLS: 'always',
      BIVOUAC_ADMIN_PASSWORD: password,
    });
  });
  afterAll(async () => {
    await appliance?.stop();
  });

  const login = async (extra: string[]): Promise<Outcome> => {
    const config = join(await tempDir('bivouac-cli-ca-home-'), 'bivouac', 'cli.json');
    return runCli(['login', appliance.url, '--user', 'admin', '--password-stdin', ...extra], {
      stdin: `${password}\n`,
      env: { BIVOUAC_CLI_CONFIG: config, NODE_EXTRA_CA_CERTS: caFile },
    });
  };

  it('signs in without --fingerprint, and still refuses a --fingerprint that is not the certificate', async () => {
    // The box serves the certificate it was given, not one of its own making.
    expect(appliance.logs.some((line) => JSON.stringify(line).includes(fingerprint))).toBe(true);
    const vouched = await login([]);
    expect(vouched).toMatchObject({ code: 0, err: '' });
    const other = otherFingerprint(fingerprint);
    const mismatch = await login(['--fingerprint', other]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toContain(
      `CERTIFICATE_MISMATCH: The box presents the certificate ${fingerprint}, not ${other}`,
    );
    expect(await login(['--fingerprint', fingerprint])).toMatchObject({ code: 0, err: '' });
  });
});

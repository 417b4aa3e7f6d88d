/**
 * A burst of 300 parallel wrong passwords for `admin` from one address, against a real appliance
 * process, sent by a second process so the measuring one stays idle; three rounds, each from its
 * own loopback address (127.0.0.11, .12, .13):
 * - `sign-in-burst-passwords-checked`: passwords the appliance actually hashed and compared in a
 *   round, the most of the three. Counted from the answers: only a checked password is answered
 *   401 INVALID_CREDENTIALS (or 200); a guess refused unchecked is answered 429 at once
 *   (LOGIN_THROTTLED, or AUTH_BUSY while 4 hashes are in flight). Target <= 5.
 * - `sign-in-burst-healthz-p99`: `GET /healthz` one after another on a kept-alive connection
 *   while the bursts are under way, p99. Target < 50 ms.
 * - `sign-in-burst-healthz-idle-p99`: the same probe for as long with no burst, before them: the
 *   floor set by the machine itself (a loaded CI box adds its own scheduling delays).
 * - `sign-in-burst-durable-write-p99`: meanwhile, API tokens made and revoked in turn (one
 *   acknowledged store write each, so file I/O on libuv's thread pool, which scrypt shares), p99;
 *   for context: /healthz never touches the pool, so this is where hashing queues would show;
 *   `…-durable-write-idle-p99` is the same with no burst, before them.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Agent, get, request } from 'node:http';
import { join } from 'node:path';
import { startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { emit, percentile } from './lib.ts';

const password = 'correct horse battery staple';
const burstSize = 300;
const rounds = 3;

/** Sends the burst from `localAddress` and prints `{ status: count }` as JSON when all answered. */
const burstClient = `
import { request } from 'node:http';
const [url, localAddress, size] = process.argv.slice(1);
const agent = new (await import('node:http')).Agent({ keepAlive: false, maxSockets: Infinity });
const one = (i) => new Promise((resolve) => {
  const body = JSON.stringify({ username: 'admin', password: 'wrong guess ' + i });
  const sent = request(url + '/api/v1/session', { method: 'POST', agent, localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
    let text = '';
    response.on('data', (chunk) => (text += chunk));
    response.on('end', () => resolve(response.statusCode === 429 ? JSON.parse(text).error.code : String(response.statusCode)));
  });
  sent.on('error', (error) => resolve('error ' + error.code));
  sent.end(body);
});
const answers = await Promise.all(Array.from({ length: Number(size) }, (_, i) => one(i)));
const counts = {};
for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
process.stdout.write(JSON.stringify(counts));
`;

function burst(url: string, localAddress: string): Promise<Record<string, number>> {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', burstClient, url, localAddress, String(burstSize)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout) as Record<string, number>)
        : reject(new Error(`burst client exited ${code}`)),
    );
  });
}

const healthAgent = new Agent({ keepAlive: true, maxSockets: 1 });

function healthz(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(`${url}/healthz`, { agent: healthAgent }, (response) => {
      response.resume();
      response.on('end', () =>
        response.statusCode === 200
          ? resolve(performance.now() - started)
          : reject(new Error(`/healthz ${response.statusCode}`)),
      );
    }).on('error', reject);
  });
}

const writeAgent = new Agent({ keepAlive: true, maxSockets: 1 });

/** The token the last `tokenWrite` made, which the next one revokes. */
let madeToken: string | null = null;

/**
 * One durable write with the administrator's bearer token, resolving with the time it took: it
 * makes an API token, or revokes the one it made last (a user holds at most
 * limits.apiTokensPerUser, so a bench that only made them would be refused).
 */
function tokenWrite(url: string, bearer: string): Promise<number> {
  const started = performance.now();
  const revoking = madeToken;
  const body = revoking ? '' : JSON.stringify({ name: 'bench' });
  return new Promise((resolve, reject) => {
    request(
      revoking ? `${url}/api/v1/tokens/${revoking}` : `${url}/api/v1/tokens`,
      {
        method: revoking ? 'DELETE' : 'POST',
        agent: writeAgent,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(revoking
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          const elapsed = performance.now() - started;
          if (response.statusCode === (revoking ? 204 : 201)) {
            madeToken = revoking ? null : (JSON.parse(text) as { id: string }).id;
            resolve(elapsed);
          } else
            reject(new Error(`${revoking ? 'DELETE' : 'POST'} /tokens ${response.statusCode}`));
        });
      },
    )
      .on('error', reject)
      .end(body);
  });
}

/** Signs in as the administrator (from 127.0.0.1, not a burst's address) and makes a token. */
async function adminToken(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  if (!login.ok) throw new Error(`sign-in: ${login.status} ${await login.text()}`);
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const created = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'bench' }),
  });
  return ((await created.json()) as { token: string }).token;
}

const dataDir = await tempDir('bivouac-bench-sign-in-');
const appliance = await startAppliance(join(dataDir, 'data'), { BIVOUAC_ADMIN_PASSWORD: password });
try {
  for (let i = 0; i < 50; i += 1) await healthz(appliance.url); // warm the connection and the route
  const bearer = await adminToken(appliance.url);
  const idle: number[] = [];
  const idleWrites: number[] = [];
  const idleUntil = performance.now() + 3000;
  await Promise.all([
    (async () => {
      while (performance.now() < idleUntil) idle.push(await healthz(appliance.url));
    })(),
    (async () => {
      while (performance.now() < idleUntil)
        idleWrites.push(await tokenWrite(appliance.url, bearer));
    })(),
  ]);
  const latencies: number[] = [];
  const writes: number[] = [];
  const checkedPerRound: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    let isBursting = true;
    const probing = Promise.all([
      (async () => {
        while (isBursting) latencies.push(await healthz(appliance.url));
      })(),
      (async () => {
        while (isBursting) writes.push(await tokenWrite(appliance.url, bearer));
      })(),
    ]);
    const counts = await burst(appliance.url, `127.0.0.${11 + round}`);
    isBursting = false;
    await probing;
    const checked = (counts['401'] ?? 0) + (counts['200'] ?? 0);
    checkedPerRound.push(checked);
    process.stderr.write(`round ${round + 1}: ${JSON.stringify(counts)}\n`);
    const unexpected = Object.keys(counts).filter(
      (answer) => !['401', '200', 'LOGIN_THROTTLED', 'AUTH_BUSY'].includes(answer),
    );
    if (unexpected.length > 0)
      throw new Error(`unexpected answers in the burst: ${unexpected.join(', ')}`);
  }
  emit('sign-in-burst-passwords-checked', Math.max(...checkedPerRound), 'passwords', '<=5');
  emit('sign-in-burst-healthz-p99', percentile(latencies, 99), 'ms', '<50');
  emit('sign-in-burst-healthz-samples', latencies.length, 'requests', null);
  emit('sign-in-burst-healthz-idle-p99', percentile(idle, 99), 'ms', null);
  emit('sign-in-burst-durable-write-p99', percentile(writes, 99), 'ms', null);
  emit('sign-in-burst-durable-write-samples', writes.length, 'requests', null);
  emit('sign-in-burst-durable-write-idle-p99', percentile(idleWrites, 99), 'ms', null);
} finally {
  healthAgent.destroy();
  writeAgent.destroy();
  await appliance.stop();
  await rm(dataDir, { recursive: true, force: true });
}

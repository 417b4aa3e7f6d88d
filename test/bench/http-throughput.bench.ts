/**
 * HTTP throughput of the appliance process, loaded by autocannon from a second process (its CLI),
 * 50 connections for 10 s after a 2 s warm-up, on loopback:
 * - GET /api/v1/session with a bearer token (authentication, a store lookup, a zod-checked JSON
 *   answer): req/s target >= 3000, p99 latency target < 20 ms;
 * - GET /healthz: the same figures, for the floor of the HTTP stack;
 * - both again over HTTPS (`https-…`), as remote clients and scripts reach the box: the same data
 *   folder served by the appliance's TLS listener (`BIVOUAC_TLS=always`, its own certificate).
 *   autocannon keeps its connections open, so this is the cost of encryption on a warm
 *   connection, not of handshakes; reported without a target.
 * The appliance's first administrator comes from BIVOUAC_ADMIN_PASSWORD; the token is created
 * through the API like a script would, over plain HTTP before the TLS run.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAppliance } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { emit } from './lib.ts';

const connections = 50;
const durationSeconds = 10;
const warmupSeconds = 2;
const password = 'correct horse battery staple';
const autocannonCli = fileURLToPath(
  new URL('../../node_modules/autocannon/autocannon.js', import.meta.url),
);

/** The part of autocannon's --json result used here. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs the autocannon CLI as its own process and returns its JSON result. */
function autocannon(
  url: string,
  seconds: number,
  headers: Record<string, string>,
): Promise<AutocannonResult> {
  const headerArgs = Object.entries(headers).flatMap(([key, value]) => ['-H', `${key}=${value}`]);
  const child = spawn(
    process.execPath,
    [
      autocannonCli,
      '--json',
      '-n',
      '-c',
      String(connections),
      '-d',
      String(seconds),
      ...headerArgs,
      url,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`autocannon exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as AutocannonResult);
    });
  });
}

/** Loads one URL (warm-up, then the measured run) and refuses a run with failed requests. */
async function load(url: string, headers: Record<string, string> = {}): Promise<AutocannonResult> {
  await autocannon(url, warmupSeconds, headers);
  const result = await autocannon(url, durationSeconds, headers);
  if (
    result.errors > 0 ||
    result.timeouts > 0 ||
    result.non2xx > 0 ||
    result.requests.total === 0
  ) {
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total}`,
    );
  }
  return result;
}

async function json<T>(response: Response): Promise<T> {
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Signs in as the administrator and creates an API token, as the CLI would. */
async function createToken(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  const { csrfToken } = await json<{ csrfToken: string }>(login);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const created = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'bench' }),
  });
  return (await json<{ token: string }>(created)).token;
}

/** Loads both endpoints of a running appliance and prints their figures, named from `scheme`. */
async function measure(
  url: string,
  token: string,
  scheme: 'http' | 'https',
  targets: { throughput: string | null; p99: string | null },
): Promise<void> {
  const session = await load(`${url}/api/v1/session`, { authorization: `Bearer ${token}` });
  const health = await load(`${url}/healthz`);
  emit(
    `${scheme}-session-bearer-throughput`,
    session.requests.average,
    'req/s',
    targets.throughput,
  );
  emit(`${scheme}-session-bearer-p99`, session.latency.p99, 'ms', targets.p99);
  emit(`${scheme}-healthz-throughput`, health.requests.average, 'req/s', targets.throughput);
  emit(`${scheme}-healthz-p99`, health.latency.p99, 'ms', targets.p99);
}

const dataDir = await tempDir('bivouac-bench-http-');
const env = { BIVOUAC_ADMIN_PASSWORD: password };
let appliance = await startAppliance(join(dataDir, 'data'), env);
try {
  const token = await createToken(appliance.url);
  await measure(appliance.url, token, 'http', { throughput: '>=3000', p99: '<20' });
  await appliance.stop();
  appliance = await startAppliance(join(dataDir, 'data'), { ...env, BIVOUAC_TLS: 'always' });
  await measure(appliance.url, token, 'https', { throughput: null, p99: null });
} finally {
  await appliance.stop();
  await rm(dataDir, { recursive: true, force: true });
}

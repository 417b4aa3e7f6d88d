import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppliance, type ApplianceProcess } from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

const password = 'crash test password';
const trials = 20;

async function adminToken(url: string): Promise<string> {
  const login = await fetch(`${url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const created = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: JSON.stringify({ name: 'crash-test' }),
  });
  return ((await created.json()) as { token: string }).token;
}

/**
 * Keeps `parallel` token creations in flight until the process dies; returns the names the
 * appliance acknowledged (201), i.e. promised were durable.
 */
async function burst(
  url: string,
  token: string,
  prefix: string,
  parallel: number,
): Promise<string[]> {
  const acknowledged: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const name = `${prefix}-${next++}`;
      try {
        const response = await fetch(`${url}/api/v1/tokens`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ name }),
        });
        if (response.status !== 201) return;
        acknowledged.push(name);
      } catch {
        return; // the process was killed: the connection broke
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return acknowledged;
}

describe('crash durability (real appliance process, SIGKILL)', () => {
  let dataDir: string;
  let appliance: ApplianceProcess | undefined;

  beforeAll(async () => {
    dataDir = await tempDir('bivouac-crash-');
  });
  afterAll(async () => {
    await appliance?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged write across ${trials} kills at random moments`, async () => {
    appliance = await startAppliance(dataDir, {
      BIVOUAC_ADMIN_PASSWORD: password,
      BIVOUAC_LOG_LEVEL: 'warn',
    });
    const token = await adminToken(appliance.url);
    const allAcknowledged: string[] = [];

    for (let trial = 0; trial < trials; trial += 1) {
      const running = appliance;
      const writes = burst(running.url, token, `t${trial}`, 8);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 250));
      await running.stop('SIGKILL');
      allAcknowledged.push(...(await writes));

      // The store must open cleanly and hold everything that was acknowledged.
      appliance = await startAppliance(dataDir, { BIVOUAC_LOG_LEVEL: 'warn' });
      const listed = await fetch(`${appliance.url}/api/v1/tokens`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(listed.status).toBe(200);
      const names = new Set(
        ((await listed.json()) as { name: string }[]).map((entry) => entry.name),
      );
      const lost = allAcknowledged.filter((name) => !names.has(name));
      expect(lost, `trial ${trial}: acknowledged but lost`).toEqual([]);
    }
    // The trials did real work: many writes were acknowledged before the kills.
    expect(allAcknowledged.length).toBeGreaterThan(trials);
  }, 180_000);
});

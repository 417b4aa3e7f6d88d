import { afterAll, describe, expect, it } from 'vitest';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';

const password = 'correct horse battery staple';
type Call = Awaited<ReturnType<typeof adminApi>>;

interface HealthAnswer {
  status: number;
  body: { status: string; starting: string[]; failed: unknown[] };
}

async function health(url: string): Promise<HealthAnswer | null> {
  try {
    const response = await fetch(`${url}/healthz`);
    return { status: response.status, body: (await response.json()) as HealthAnswer['body'] };
  } catch {
    return null; // not listening yet
  }
}

/**
 * Ready means ready: the built appliance with its shipped catalog and images (the tiny guest)
 * answers /healthz 503 "starting" while they install, and the first 200 comes only once a
 * deploy can be served. Watched from the first answer, 20 ms apart.
 */
describe('/healthz on a starting box', () => {
  let appliance: ApplianceProcess | null = null;
  afterAll(async () => {
    await appliance?.stop();
  });

  it('says what is still starting, and answers 200 only once Hello web can be deployed', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const answers: HealthAnswer[] = [];
    let deployed: Awaited<ReturnType<Call>> | null = null;
    const deadline = Date.now() + 120_000;
    const watched = (async () => {
      let call: Call | null = null;
      while (Date.now() < deadline) {
        const answer = await health(url);
        if (answer) answers.push(answer);
        // Signed in while it starts (the administrator exists before the listeners open), so
        // the deploy goes out the moment the first 200 is seen: no wait, no retry.
        if (answer && !call) call = await adminApi(() => url, password);
        if (answer?.status === 200 && call) {
          deployed = await call('POST', '/apps/hello-web/deploy', { parameters: {} });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    appliance = await startAppliance(
      await tempDir('bivouac-ready-'),
      {
        BIVOUAC_LISTEN: url.slice('http://'.length),
        // The images shipped beside the built appliance (the fixture's default is none).
        BIVOUAC_BUILTIN_IMAGES_DIR: '',
        BIVOUAC_ADMIN_PASSWORD: password,
      },
      120_000,
    );
    await watched;
    expect(deployed).toMatchObject({ status: 201 });

    const starting = answers.filter((answer) => answer.status === 503);
    expect(starting.length).toBeGreaterThan(0);
    expect(starting[0]!.body).toMatchObject({ status: 'starting', failed: [] });
    expect(new Set(starting.flatMap((answer) => answer.body.starting))).toEqual(
      new Set(['built-in catalog', 'built-in images']),
    );
    expect(answers.at(-1)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'ok', starting: [], failed: [] }),
    });
  });
});

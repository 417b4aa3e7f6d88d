import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { rm } from 'node:fs/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  adminApi,
  freePort,
  startAppliance,
  type ApplianceProcess,
} from '../fixtures/appliance-process.ts';
import { tempDir } from '../fixtures/appliance.ts';
import { realQemu, removeDomains } from '../fixtures/real-qemu.ts';

const password = 'public host password';

/** The README's fallback: the first IPv4 address of a LAN interface (not loopback, not a run network's bridge). */
function firstLanAddress(): string {
  const address = Object.entries(networkInterfaces())
    .filter(([name]) => !name.startsWith('bvn-') && !name.startsWith('virbr'))
    .flatMap(([, addresses]) => addresses ?? [])
    .find((candidate) => candidate.family === 'IPv4' && !candidate.internal)?.address;
  if (!address) throw new Error('this machine has no LAN IPv4 address to fall back to');
  return address;
}

/** GET over plain HTTP to `url` with the Host header a browser would send for `host`. */
function getAs(url: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        headers: { host: `${host}:${target.port}` },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    )
      .on('error', reject)
      .end();
  });
}

/** The service host the appliance logged it uses. */
function loggedServiceHost(appliance: ApplianceProcess): unknown {
  return appliance.logs.find((line) => typeof line.serviceHost === 'string')?.serviceHost;
}

/**
 * The service host, the box's address in the apps' service URLs, under which the UI is never
 * served: BIVOUAC_PUBLIC_HOST, else (listening on loopback) the first LAN IPv4 address.
 */
describe('the service host (BIVOUAC_PUBLIC_HOST)', () => {
  it('is BIVOUAC_PUBLIC_HOST when set: the UI and the API refuse to answer under it', async () => {
    const appliance = await startAppliance(await tempDir('bivouac-public-host-'), {
      BIVOUAC_PUBLIC_HOST: 'apps.box.test',
      BIVOUAC_HOST_NAMES: 'box.test',
    });
    onTestFinished(() => appliance.stop().then(() => undefined));
    expect(loggedServiceHost(appliance)).toBe('apps.box.test');
    const port = new URL(appliance.url).port;
    const api = await getAs(`${appliance.url}/api/v1/setup`, 'apps.box.test');
    expect(api.status).toBe(421);
    expect(JSON.parse(api.text)).toMatchObject({
      error: { code: 'UI_NOT_ON_SERVICE_HOST', details: { uiUrl: `http://box.test:${port}/` } },
    });
    // The box's LAN address is not the service host then: the UI answers there.
    expect((await getAs(`${appliance.url}/api/v1/setup`, firstLanAddress())).status).toBe(200);
  });

  it('falls back to the first LAN address when the box listens on loopback', async () => {
    const appliance = await startAppliance(await tempDir('bivouac-public-host-'));
    onTestFinished(() => appliance.stop().then(() => undefined));
    const lan = firstLanAddress();
    expect(loggedServiceHost(appliance)).toBe(lan);
    const api = await getAs(`${appliance.url}/api/v1/setup`, lan);
    expect(JSON.parse(api.text)).toMatchObject({ error: { code: 'UI_NOT_ON_SERVICE_HOST' } });
    expect((await getAs(`${appliance.url}/api/v1/setup`, '127.0.0.1')).status).toBe(200);
  });
});

/**
 * The service URLs of a real app on real guests (QEMU under TCG, the box's own daemon): Hello
 * web's page is linked under the service host, and answers there.
 */
describe('service URLs on real guests', () => {
  it("name BIVOUAC_PUBLIC_HOST when it is set, and the box's LAN address when it is not", async () => {
    const { uri, imagesDir } = realQemu();
    const dataDir = await tempDir('bivouac-public-host-real-');
    const listen = `127.0.0.1:${await freePort()}`;
    const runIds: string[] = [];
    let appliance: ApplianceProcess | undefined;
    onTestFinished(async () => {
      await appliance?.stop();
      for (const id of runIds) removeDomains(uri, `bvc-${id.slice(0, 12)}`);
      await rm(dataDir, { recursive: true, force: true });
    });

    /** Deploys Hello web, waits for Ready, and answers its service URL; terminates it after. */
    const serviceUrlOf = async (env: Record<string, string>): Promise<string> => {
      appliance = await startAppliance(dataDir, {
        BIVOUAC_LIBVIRT_URI: uri,
        BIVOUAC_ADMIN_PASSWORD: password,
        BIVOUAC_BUILTIN_IMAGES_DIR: imagesDir,
        BIVOUAC_LISTEN: listen,
        ...env,
      });
      const api = await adminApi(() => appliance!.url, password);
      const deadline = Date.now() + 120_000;
      const until = async (check: () => Promise<boolean>, what: string) => {
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error(`not so in time: ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      };
      await until(
        async () =>
          (
            (await api('GET', '/images')).body as unknown as { name: string; status: string }[]
          ).some((image) => image.name === 'tiny' && image.status === 'ready'),
        'the tiny image is imported',
      );
      await until(
        async () =>
          ((await api('GET', '/apps')).body as unknown as { id: string }[]).some(
            (app) => app.id === 'hello-web',
          ),
        'Hello web is installed',
      );
      const deployed = await api('POST', '/apps/hello-web/deploy', {
        parameters: { 'web:greeting': 'Hello from the service host' },
      });
      expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
      const id = deployed.body!.id as string;
      runIds.push(id);
      await until(async () => {
        const state = (await api('GET', `/runs/${id}`)).body!.state as string;
        if (state === 'Aborted')
          throw new Error(
            `run ${id} aborted: ${JSON.stringify((await api('GET', `/runs/${id}/log`)).body)}`,
          );
        return state === 'Ready';
      }, `run ${id} is Ready`);
      const service = ((await api('GET', `/runs/${id}/params`)).body as Record<string, string>)[
        'run:url.service'
      ]!;
      // The page answers on the published port of the box, under the host its link names.
      const port = new URL(service).port;
      const page = await getAs(`http://${firstLanAddress()}:${port}/`, new URL(service).hostname);
      expect(page.text).toContain('<h1>Hello from the service host</h1>');
      expect((await api('POST', `/runs/${id}/terminate`)).status).toBe(202);
      await until(
        async () =>
          ['Done', 'Aborted'].includes((await api('GET', `/runs/${id}`)).body!.state as string),
        `run ${id} ended`,
      );
      await appliance.stop();
      appliance = undefined;
      return service;
    };

    expect(await serviceUrlOf({ BIVOUAC_PUBLIC_HOST: 'apps.box.test' })).toMatch(
      /^http:\/\/apps\.box\.test:\d+\/$/,
    );
    expect(await serviceUrlOf({})).toMatch(
      new RegExp(`^http://${firstLanAddress().replaceAll('.', '\\.')}:\\d+/$`),
    );
  }, 400_000);
});

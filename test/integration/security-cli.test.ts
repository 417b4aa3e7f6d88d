import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../fixtures/appliance.ts';
import { assertApplianceBuilt, builtCliEntry } from '../fixtures/built-appliance.ts';

/** The `bivouac` CLI as a script runs it, with BIVOUAC_URL and BIVOUAC_TOKEN instead of a login. */
function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  assertApplianceBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCliEntry, ...args], {
      env: { ...process.env, BIVOUAC_FINGERPRINT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** This machine's first address that is not loopback, where a box on the LAN would be; 0.0.0.0 listens there too. */
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;

describe('the CLI and plain http (L7)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it.skipIf(!lanAddress)(
    'L7: BIVOUAC_URL=http://<not loopback> with BIVOUAC_TOKEN is refused with INSECURE_URL before the token is sent',
    async () => {
      const received: string[] = [];
      server = createServer((request, response) => {
        received.push(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      });
      await new Promise<void>((resolve) => server!.listen(0, '0.0.0.0', resolve));
      const { port } = server.address() as AddressInfo;
      const config = join(await tempDir('bivouac-cli-home-'), 'cli.json');
      const outcome = await cli(['clouds'], {
        BIVOUAC_URL: `http://${lanAddress}:${port}`,
        BIVOUAC_TOKEN: 'bvt_secret_token',
        BIVOUAC_CLI_CONFIG: config,
      });
      expect(outcome.code).toBe(1);
      expect(outcome.err).toMatch(
        /^INSECURE_URL: BIVOUAC_URL http:\/\/.*: over http:\/\/ the token would travel in clear; use https:\/\//,
      );
      expect(received).toEqual([]);

      // The machine's own loopback stays allowed over http (the box's screen, tests).
      const local = await cli(['clouds'], {
        BIVOUAC_URL: `http://127.0.0.1:${port}`,
        BIVOUAC_TOKEN: 'bvt_secret_token',
        BIVOUAC_CLI_CONFIG: config,
      });
      expect(local.err).not.toMatch(/INSECURE_URL/);
      expect(received).toEqual(['GET /api/v1/clouds Bearer bvt_secret_token']);
    },
  );
});

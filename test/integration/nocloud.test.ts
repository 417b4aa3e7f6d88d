import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildSeed } from '../../appliance/src/connectors/libvirt/nocloud.ts';
import { tempDir } from '../fixtures/appliance.ts';

describe('the NoCloud seed for cloud images', () => {
  it('is a CIDATA ISO whose user-data installs and starts the agent with the context', async () => {
    const folder = await tempDir();
    const context = {
      'bivouac.url': 'http://10.0.2.2:8080',
      'bivouac.run': 'r1',
      'bivouac.instance': 'web.1',
      'bivouac.token': "bvi_x'y",
    };
    const iso = await buildSeed(folder, 'bvc-r1-web-1', 'web-1', context);
    expect(await readdir(folder)).toEqual(['seed.iso']); // the staging files are gone

    const label = execFileSync('xorriso', ['-indev', iso, '-pvd_info'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    expect(label).toMatch(/Volume Id\s*:\s*CIDATA/);
    const out = await tempDir();
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', out], {
      stdio: 'ignore',
    });
    expect(await readFile(join(out, 'meta-data'), 'utf8')).toBe(
      'instance-id: bvc-r1-web-1\nlocal-hostname: web-1\n',
    );

    const userData = await readFile(join(out, 'user-data'), 'utf8');
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const config = parse(userData) as {
      write_files: { path: string; content: string; encoding?: string }[];
      runcmd: string[][];
    };
    const file = (path: string) => config.write_files.find((entry) => entry.path === path)!;
    expect(file('/etc/bivouac/context').content).toBe(
      "bivouac.url=http://10.0.2.2:8080\nbivouac.run=r1\nbivouac.instance=web.1\nbivouac.token=bvi_x'y\n",
    );
    const agent = await readFile(
      fileURLToPath(new URL('../../appliance/src/guest/bivouac-agent', import.meta.url)),
    );
    expect(Buffer.from(file('/usr/local/bin/bivouac-agent').content, 'base64').equals(agent)).toBe(
      true,
    );
    expect(file('/etc/systemd/system/bivouac-agent.service').content).toContain(
      'ExecStart=/usr/local/bin/bivouac-agent run',
    );
    expect(config.runcmd).toContainEqual(['systemctl', 'enable', '--now', 'bivouac-agent.service']);
  });
});

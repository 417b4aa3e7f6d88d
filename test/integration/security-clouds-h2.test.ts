import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../appliance/src/config.ts';
import { as, tempDir, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { exists, proofScript, useCloudUriBox, type CloudBody } from '../fixtures/cloud-uri-box.ts';

/**
 * Cloud URIs are parsed, not passed (H2): a URI naming a command, a key outside the keys folder or
 * a way out of it is refused before anything connects, and who and where a cloud connects as is for
 * administrators only. On the box of test/fixtures/cloud-uri-box.ts.
 */
describe('cloud URIs are parsed, not passed (H2)', () => {
  let box: TestAppliance;
  let admin: Client;
  let olga: Client;
  const { add, list } = useCloudUriBox((parts) => ({ box, admin, olga } = parts));

  it('H2: adding a cloud with ?command=/bin/sh&keyfile=<script> is refused naming command, and the script never runs', async () => {
    const { script, mark } = await proofScript();
    const answer = await add(`qemu+ssh://x/system?command=/bin/sh&keyfile=${script}`);
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: {
          fields: [
            {
              field: 'body.config.uri',
              message: expect.stringMatching(
                /^names the parameter command, .*allowed are keyfile and known_hosts \(files in .*\/keys\/\), no_tty/,
              ),
            },
          ],
        },
      },
    });
    expect(await exists(mark)).toBe(false);
    expect(box.services.store.data.clouds).toEqual([]);
  });

  it('H2: every spelling of a refused parameter, a key outside the keys folder and a way out of it are refused; nothing is stored', async () => {
    const keys = join(box.dataDir, 'keys');
    const refused: [string, RegExp][] = [
      ['qemu+ssh://x/system?Command=/bin/sh', /parameter command/],
      ['qemu+ssh://x/system?%63ommand=/bin/sh', /parameter command/],
      [`qemu+ssh://x/system?keyfile=${keys}/ok&KEYFILE=/x`, /keyfile twice/],
      ['qemu+ssh://x/system?command=/bin/sh&keyfile=/tmp/poc.sh', /parameter command/],
      ['qemu+ssh://x/system?netcat=/tmp/nc', /parameter netcat/],
      ['qemu+ssh://root@10.0.0.9/system?no_verify=1', /parameter no_verify/],
      ['qemu+ssh://x/system?socket=/run/libvirt/libvirt-sock', /socket=.*only a unix transport/],
      ['qemu+unix:///system?socket=/var/run/docker.sock', /socket=.*libvirt's own sockets/],
      ['qemu+ssh://x/system?proxy=auto', /parameter proxy/],
      ['qemu+ssh://x/system?surprise=1', /parameter surprise, which the box does not know/],
      ['qemu+ssh://x/system?keyfile=/var/lib/bivouac/.ssh/id_ed25519', /outside the keys folder/],
      [`qemu+ssh://x/system?keyfile=${keys}/../tls/key.pem`, /without "\.", "\.\."/],
      [`qemu+ssh://x/system?keyfile=${keys}/%2E%2E/tls/key.pem`, /without "\.", "\.\."/],
      [`qemu+ssh://x/system?known_hosts=${keys}/../../../etc/passwd`, /without "\.", "\.\."/],
      ['qemu+ssh://root:hunter2@x/system', /password/],
    ];
    for (const [uri, reason] of refused) {
      const answer = await add(uri);
      expect(answer.statusCode, uri).toBe(400);
      expect(answer.json<{ error: { message: string } }>().error.message, uri).toMatch(reason);
    }
    expect(box.services.store.data.clouds).toEqual([]);
    // A key inside the keys folder passes.
    await mkdir(keys, { recursive: true });
    expect(
      (await add(`qemu+ssh://root@127.0.0.1:1/system?keyfile=${keys}/rack&no_tty=1`)).statusCode,
    ).toBe(201);
  });

  it('H2: the answer says who and where a cloud connects as, to administrators only', async () => {
    const added = await add('qemu+tcp://svc@127.0.0.1:1/system');
    expect(added.statusCode).toBe(201);
    expect(added.json<CloudBody>().target).toEqual({
      transport: 'tcp',
      user: 'svc',
      host: '127.0.0.1',
      port: 1,
      summary: 'connects over tcp as svc to 127.0.0.1, port 1',
    });
    expect((await list(admin)).map((cloud) => cloud.target?.summary)).toEqual([
      "connects to this box's own test driver (default)",
      'connects over tcp as svc to 127.0.0.1, port 1',
    ]);
    expect((await list(olga)).map((cloud) => cloud.target)).toEqual([null, null]);
    const rules = await box.app.inject({
      method: 'GET',
      url: '/api/v1/clouds/rules',
      headers: as(admin),
    });
    expect(rules.json()).toEqual({ keysDir: join(box.dataDir, 'keys') });
    expect(
      (await box.app.inject({ method: 'GET', url: '/api/v1/clouds/rules', headers: as(olga) }))
        .statusCode,
    ).toBe(403);
  });

  it("H2: BIVOUAC_LIBVIRT_URI and config.json's libvirtUri pass the same rule before anything connects", async () => {
    const dataDir = await tempDir();
    await expect(
      loadConfig({
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_LIBVIRT_URI: 'qemu+ssh://x/system?%63ommand=/bin/sh',
      }),
    ).rejects.toThrow(/BIVOUAC_LIBVIRT_URI is refused: it names the parameter command/);
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ libvirtUri: 'qemu+unix:///system?socket=/var/run/docker.sock' }),
    );
    await expect(loadConfig({ BIVOUAC_DATA_DIR: dataDir })).rejects.toThrow(
      /libvirtUri in .*config\.json is refused: .*libvirt's own sockets/,
    );
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({
        libvirtUri: `qemu+ssh://root@rack/system?keyfile=${join(dataDir, 'keys', 'rack')}`,
      }),
    );
    expect((await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).libvirtUri).toMatch(/keyfile=/);
  });
});

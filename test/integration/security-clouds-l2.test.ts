import { describe, expect, it } from 'vitest';
import { toTypedError } from '../../appliance/src/connectors/libvirt/call.ts';
import { as, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useCloudUriBox, type CloudBody } from '../fixtures/cloud-uri-box.ts';
import { importPlaceholderImage } from '../fixtures/guest-stand-in.ts';

/**
 * A cloud's failures are kept for run viewers without user@host or the cloud's URI (L2). On the box
 * of test/fixtures/cloud-uri-box.ts.
 */
describe('cloud URIs are parsed, not passed (L2)', () => {
  let box: TestAppliance;
  let admin: Client;
  const { add } = useCloudUriBox((parts) => ({ box, admin } = parts));

  it('L2: a failure kept for run viewers names neither user@host nor the URI of the cloud', async () => {
    const cloud = (await add('qemu+tcp://svc@127.0.0.1:1/system')).json<CloudBody>();
    const said = box.services.clouds.redact(
      cloud.id,
      "The cloud qemu+tcp://svc@127.0.0.1:1/system refused start: unable to connect to server at 'svc@127.0.0.1:1'",
    );
    expect(said).toBe("The cloud Rack refused start: unable to connect to server at 'Rack:1'");
    expect(said).not.toMatch(/svc|127\.0\.0\.1/);
  });

  it("L2: a port that cannot be published is logged in the run without the cloud's URI", async () => {
    const imageId = await importPlaceholderImage(box.services, admin.userId);
    const saved = await box.app.inject({
      method: 'PUT',
      url: '/api/v1/modules?path=/web',
      headers: as(admin),
      payload: {
        content: {
          kind: 'image',
          nativeImages: { libvirt: { imageId } },
          ports: [{ name: 'http', port: 80, protocol: 'http' }],
        },
        message: 'seed',
      },
    });
    expect(saved.statusCode).toBe(200);
    // The test driver publishes nothing, so its connector is made to fail as a remote host's does.
    const connector = box.services.clouds.connector('box');
    connector.publish = async () => {
      throw toTypedError(
        new Error('Cannot recv data: ssh: connect to host rack2 port 22: Connection refused'),
        'test:///default',
        'get XML',
      );
    };
    await box.services.runs.start();
    const created = await box.app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: as(admin),
      payload: { module: '/web' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    await box.services.runs.idle();
    const log = (
      await box.app.inject({ method: 'GET', url: `/api/v1/runs/${id}/log`, headers: as(admin) })
    ).json<
      { action: string; detail: string }[] | { entries: { action: string; detail: string }[] }
    >();
    const entries = Array.isArray(log) ? log : log.entries;
    const failed = entries.find((entry) => entry.action === 'publish failed');
    expect(failed?.detail).toMatch(/web\.1 port 80: The cloud This box is unreachable/);
    expect(failed?.detail).not.toContain('test:///default');
  });
});

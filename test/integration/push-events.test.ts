import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  as,
  makeAppliance,
  setupAdmin,
  type Client,
  type TestAppliance,
} from '../fixtures/appliance.ts';
import { freePort } from '../fixtures/appliance-process.ts';
import { startPrivateLibvirtd, type PrivateLibvirtd } from '../fixtures/private-libvirtd.ts';
import { listen } from '../fixtures/sse.ts';
import { vmSpec } from '../fixtures/vm-spec.ts';

/**
 * Push, not polling: a real libvirt daemon (serving the test driver on a private socket), the
 * supervised event stream read from its socket, and a real SSE client on a loopback port. A VM destroyed from
 * outside with `virsh destroy` reaches the client as an event.
 */
describe('VM state pushed from libvirt events to the event stream', () => {
  let daemon: PrivateLibvirtd;
  let box: TestAppliance;
  let admin: Client;
  let url: string;

  beforeAll(async () => {
    daemon = await startPrivateLibvirtd();
    box = await makeAppliance({
      libvirtUri: daemon.uri,
      reconciler: { idlePollMs: 600_000, watchedPollMs: 600_000 },
    });
    admin = await setupAdmin(box.app);
    const port = await freePort();
    await box.app.listen({ host: '127.0.0.1', port });
    url = `http://127.0.0.1:${port}`;
    await box.services.reconciler.start();
  });
  afterAll(async () => {
    await box.services.reconciler.stop();
    await box.services.clouds.close();
    await box.close();
    await daemon.stop();
  });

  it('reports the box as pushing, and turns an outside virsh destroy into an SSE event', async () => {
    await expect
      .poll(() => box.services.reconciler.tracking(), { timeout: 5000 })
      .toEqual({ box: 'push' });
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-push-web-1', { owner: admin.userId }),
      null,
    );
    expect(vm.state).toBe('running');

    const token = (
      await box.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: as(admin),
        payload: { name: 'sse' },
      })
    ).json<{ token: string }>().token;
    const stream = listen(`${url}/api/v1/events`, { authorization: `Bearer ${token}` });
    try {
      await stream.waitFor(() => stream.status === 200);
      execFileSync('virsh', ['-c', daemon.uri, 'destroy', 'bvc-push-web-1'], { stdio: 'ignore' });
      await stream.waitFor(
        () =>
          stream.events.some(
            (event) =>
              event.type === 'vm.state' &&
              event.subject.id === vm.id &&
              event.data.state === 'stopped',
          ),
        5000,
      );
      expect(box.services.vms.get(vm.id).state).toBe('stopped');

      execFileSync('virsh', ['-c', daemon.uri, 'undefine', 'bvc-push-web-1'], { stdio: 'ignore' });
      await stream.waitFor(
        () => stream.events.some((event) => event.type === 'vm.gone' && event.subject.id === vm.id),
        5000,
      );
      expect(box.services.vms.get(vm.id)).toMatchObject({
        state: 'gone',
        goneReason: expect.stringMatching(/^vanished/),
      });
    } finally {
      await stream.close();
    }
  });

  it('does not take its own terminations for vanished VMs', async () => {
    const applied = vi.spyOn(box.services.vms, 'applyEvent');
    const vm = await box.services.vms.launch(
      'box',
      vmSpec('bvc-push-web-2', { owner: admin.userId }),
      null,
    );
    await box.services.vms.terminate(vm.id);
    // libvirt's own Undefined event for the domain arrives after terminate() returned; once it
    // has been applied, the record must still say why it went.
    await vi.waitFor(
      () => {
        const index = applied.mock.calls.findIndex(
          ([, event]) => event.name === 'bvc-push-web-2' && event.state === 'gone',
        );
        expect(applied.mock.settledResults[index]?.type).toBe('fulfilled');
      },
      { timeout: 15_000, interval: 20 },
    );
    applied.mockRestore();
    expect(box.services.vms.get(vm.id)).toMatchObject({ state: 'gone', goneReason: 'terminated' });
  });
});

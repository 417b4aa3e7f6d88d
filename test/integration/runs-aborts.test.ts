import { Hypervisor } from '@unraid/libvirt';
import { describe, expect, it, vi } from 'vitest';
import type { TestAppliance } from '../fixtures/appliance.ts';
import type { GuestStandIn } from '../fixtures/guest-stand-in.ts';
import { useRunsBox, type RunBody } from '../fixtures/runs-box.ts';

/**
 * What aborts a run (a recipe, a vanished VM, failed launches, a state held too long) and what the
 * abort leaves. Runs on libvirt's test driver, guests played by a stand-in
 * (test/fixtures/runs-box.ts).
 */
describe('runs and their orchestration: aborts (test driver, guests played by a stand-in)', () => {
  let box: TestAppliance;
  let guests: GuestStandIn;
  const { deploy, run, domainsOf, toReady } = useRunsBox((parts) => ({ box, guests } = parts));

  it('aborts a run whose VM is destroyed behind its back', async () => {
    const id = (await deploy({ module: '/t/app', keepRunning: 'never' })).json<RunBody>().id;
    await toReady(id);
    const [victim] = await domainsOf(id);
    const hypervisor = new Hypervisor({ uri: 'test:///default' });
    await hypervisor.connectOpen();
    const domain = await hypervisor.domainLookupByName(victim!);
    await hypervisor.domainDestroy(domain);
    await hypervisor.domainUndefine(domain);
    await hypervisor.connectClose();
    await box.services.reconciler.start(); // its first pass finds the VM gone
    await box.services.runs.idle();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    expect(ended.abort).toMatchObject({
      source: 'reconciler',
      message: expect.stringContaining('VM vanished'),
    });
    expect(await domainsOf(id)).toEqual([]);
    expect(box.services.reservations.all()).toEqual([]);
  });

  it('aborts from a recipe, keeping the first reason, and leaves no VM when policy says so', async () => {
    const id = (
      await deploy({ module: '/t/app', parameters: { 'db:password': 'x' }, keepRunning: 'never' })
    ).json<RunBody>().id;
    await box.services.runs.idle();
    const web = await guests.agent(id, 'web.1');
    const db = await guests.agent(id, 'db.1');
    expect(await web.abort('deploy exited with code 3')).toBe(204);
    expect(await db.abort('second reason')).toBe(204);
    await box.services.runs.idle();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    expect(ended.abort).toMatchObject({ source: 'recipe', message: 'deploy exited with code 3' });
    expect(await domainsOf(id)).toEqual([]);
  });

  it('aborts when a node loses more instances than it tolerates, naming the instance and why', async () => {
    // A stand-in for a cloud that fails every launch part way, its domain already made: the test
    // driver itself never fails one.
    const connector = box.services.clouds.connector('box');
    const launch = connector.launch.bind(connector);
    const refuse = vi.spyOn(connector, 'launch').mockImplementation(async (specs) => {
      await launch(specs);
      throw new Error(
        'The cloud test:///default refused start: Failed to connect socket to /run/libvirt/virtlogd-sock',
      );
    });
    const id = (await deploy({ module: '/t/db', parameters: { password: 'x' } })).json<RunBody>()
      .id;
    await box.services.runs.idle();
    refuse.mockRestore();
    const ended = await run(id);
    expect(ended.state).toBe('Aborted');
    // The cloud is named by its name: where it is (its URI) is for administrators only.
    expect(ended.abort).toMatchObject({
      source: 'launch',
      message:
        'node db has more failed instances than its maxFailures (0); db.1: The cloud This box refused start: Failed to connect socket to /run/libvirt/virtlogd-sock',
    });
    expect(await domainsOf(id)).toEqual([]); // what the failed launch made is gone
    expect(box.services.reservations.all()).toEqual([]);
  });

  it('aborts a run that stays too long in a state', async () => {
    const id = (
      await deploy({
        module: '/t/app',
        parameters: { 'db:password': 'x' },
        keepRunning: 'never',
        timeouts: { Executing: 1 },
      })
    ).json<RunBody>().id;
    await expect.poll(async () => (await run(id)).state, { timeout: 5000 }).toBe('Aborted');
    expect((await run(id)).abort).toMatchObject({
      source: 'timeout',
      message: 'Executing took longer than 1 s',
    });
    await box.services.runs.idle();
    expect(await domainsOf(id)).toEqual([]);
  });
});

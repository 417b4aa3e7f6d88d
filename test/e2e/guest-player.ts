import { expect } from '@playwright/test';
import { postAsAgent } from '../fixtures/agent-call.ts';
import { guestContexts } from '../fixtures/private-libvirtd.ts';

/**
 * Plays the guests of runs on libvirt's test driver, which runs no guest code: it reads each
 * VM's agent token from its fw_cfg context file, as its guest would, and calls the agent API
 * over HTTP with it, as test/fixtures/guest-stand-in.ts does in process. The daemon must be a
 * private one (the `libvirtd` fixture), since the in-process test driver's domains are the
 * appliance's alone.
 */
export class GuestPlayer {
  constructor(
    private readonly libvirtUri: string,
    private readonly applianceUrl: string,
  ) {}

  /** The agent token of each instance of a run, read from its domain as its guest would. */
  async tokens(runId: string): Promise<Map<string, string>> {
    const contexts = await guestContexts(this.libvirtUri);
    return new Map(
      contexts
        .filter((context) => context.run === runId)
        .map((context) => [context.instance, context.token]),
    );
  }

  /**
   * Plays every guest of the run through its recipes, once the run has launched `count` VMs:
   * each sets its `outputs`, then reports Executing, then SendingReports.
   */
  async play(runId: string, count: number, outputs: Record<string, string> = {}): Promise<void> {
    let tokens = new Map<string, string>();
    await expect
      .poll(async () => (tokens = await this.tokens(runId)).size, {
        message: 'the run launched its VMs',
      })
      .toBe(count);
    for (const [instance, token] of tokens) {
      for (const [key, value] of Object.entries(outputs))
        await this.call(token, `/params/${encodeURIComponent(`${instance}:${key}`)}`, { value });
      await this.call(token, '/complete', { state: 'Executing' });
      await this.call(token, '/complete', { state: 'SendingReports' });
    }
  }

  /** One call of the agent API with a guest's token; fails the test unless it is answered 204. */
  private async call(token: string, path: string, body: unknown): Promise<void> {
    const response = await postAsAgent(this.applianceUrl, token, path, body);
    expect(response.status, await response.text()).toBe(204);
  }
}

import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAppliance, type TestAppliance } from '../fixtures/appliance.ts';

/**
 * A guest on QEMU's user networking reaches the host's loopback through QEMU, so its connections
 * arrive from 127.0.0.1 like the box screen's. Here a real process running as another user
 * (nobody) stands for QEMU's user (libvirt-qemu); the security-network test does the same with a
 * real guest.
 */
const nobody = 65534;

function curlAs(uid: number | undefined, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-s', '-w', ' %{http_code}', url],
      { timeout: 10_000, ...(uid === undefined ? {} : { uid, gid: nobody }) },
      (error, stdout) => {
        if (error && !stdout) reject(error);
        else resolve(stdout);
      },
    );
  });
}

describe.runIf(process.getuid?.() === 0)("M7-fallback: connections from QEMU's user", () => {
  let box: TestAppliance;
  let url: string;
  beforeAll(async () => {
    box = await makeAppliance({ guestUid: nobody });
    url = await box.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => box?.close());

  it("M7-fallback: a connection opened by QEMU's user is refused with GUEST_REFUSED on the box's listeners, while the box's own are served", async () => {
    expect(await curlAs(undefined, `${url}/healthz`)).toMatch(/ 200$/);
    for (const path of ['/healthz', '/api/v1/setup']) {
      const answer = await curlAs(nobody, `${url}${path}`);
      expect([path, answer.slice(-3), JSON.parse(answer.slice(0, -4)).error.code]).toEqual([
        path,
        '403',
        'GUEST_REFUSED',
      ]);
    }
    expect(await curlAs(undefined, `${url}/api/v1/setup`)).toMatch(/ 200$/);
  });
});

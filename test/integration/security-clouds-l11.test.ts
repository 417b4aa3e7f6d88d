import { describe, expect, it } from 'vitest';
import { as, login, type Client, type TestAppliance } from '../fixtures/appliance.ts';
import { useCloudUriBox } from '../fixtures/cloud-uri-box.ts';

/**
 * Only administrators test a cloud, a connection on demand, and a test that changes nothing is not
 * kept for replay (L11). On the box of test/fixtures/cloud-uri-box.ts.
 */
describe('cloud URIs are parsed, not passed (L11)', () => {
  let box: TestAppliance;
  let admin: Client;
  let olga: Client;
  useCloudUriBox((parts) => ({ box, admin, olga } = parts));

  it('L11: only administrators test a cloud (a connection on demand), and a test that changes nothing is not kept for replay', async () => {
    const vera = await login(box.app, 'vera', 'long enough password');
    for (const client of [olga, vera]) {
      const answer = await box.app.inject({
        method: 'POST',
        url: '/api/v1/clouds/box/test',
        headers: as(client),
      });
      expect(answer.statusCode).toBe(403);
      expect(answer.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    await box.app.inject({ method: 'POST', url: '/api/v1/clouds/box/test', headers: as(admin) });
    const before = box.services.events.since(0)!.length;
    for (let i = 0; i < 5; i += 1)
      expect(
        (
          await box.app.inject({
            method: 'POST',
            url: '/api/v1/clouds/box/test',
            headers: as(admin),
          })
        ).statusCode,
      ).toBe(200);
    expect(box.services.events.since(0)!.length).toBe(before);
  });
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Amounts } from '../../appliance/src/domain/capacity.ts';
import { BivouacError } from '../../appliance/src/errors.ts';
import { as, login, makeAppliance, setupAdmin, type TestAppliance } from '../fixtures/appliance.ts';

const oneVm: Amounts = { vms: 1, vcpu: 1, memoryMiB: 128, diskGiB: 1 };
let box: TestAppliance | undefined;
afterEach(async () => {
  await box?.close();
  box = undefined;
});

describe('reservations', () => {
  it('lets exactly 8 of 50 concurrent one-VM reservations through a capacity of 8', async () => {
    box = await makeAppliance({ box: { vms: 8, vcpu: 64, memoryMiB: 65536, diskGiB: 1000 } });
    const admin = await setupAdmin(box.app);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        box!.services.reservations.reserve(admin.userId, `run-${i}`, oneVm),
      ),
    );
    const granted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    );
    expect(granted).toHaveLength(8);
    expect(refused).toHaveLength(42);
    for (const { reason } of refused) {
      expect(reason).toBeInstanceOf(BivouacError);
      expect((reason as BivouacError).code).toBe('NO_CAPACITY');
      expect((reason as BivouacError).details).toEqual({
        scope: 'box',
        resource: 'vms',
        held: 8,
        asked: 1,
        allowed: 8,
      });
    }
    const onDisk = JSON.parse(await readFile(join(box.dataDir, 'bivouac.json'), 'utf8'));
    expect(onDisk.reservations).toHaveLength(8);
  });

  it('refuses beyond a user quota, saying which limit, what is held, asked and allowed', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const quota = await box.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${admin.userId}/quota`,
      headers: as(admin),
      payload: { vms: 2 },
    });
    expect(quota.json()).toEqual({ vms: 2 });
    await box.services.reservations.reserve(admin.userId, 'a', oneVm);
    const error = await box.services.reservations
      .reserve(admin.userId, 'b', { ...oneVm, vms: 2 })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { scope: 'user', resource: 'vms', held: 1, asked: 2, allowed: 2 },
    });
    expect((error as Error).message).toBe(
      'Not enough VMs: your quota allows 2, 1 are already held, and 2 were asked (1 left).',
    );
    expect(box.services.store.data.reservations).toHaveLength(1);
  });

  it('releases once; a second release changes nothing', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const reservation = await box.services.reservations.reserve(admin.userId, 'a', oneVm);
    expect(await box.services.reservations.release(reservation.id)).toBe(true);
    expect(await box.services.reservations.release(reservation.id)).toBe(false);
    expect(box.services.store.data.reservations).toEqual([]);
  });
});

describe('GET /api/v1/capacity', () => {
  it('shows used, reserved and free per resource, overall and per user', async () => {
    box = await makeAppliance({ box: { vms: 8, vcpu: 16, memoryMiB: 8192, diskGiB: 100 } });
    const admin = await setupAdmin(box.app);
    await box.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: as(admin),
      payload: { username: 'olga', password: 'long enough password', role: 'operator' },
    });
    const olga = await login(box.app, 'olga', 'long enough password');
    const held = await box.services.reservations.reserve(olga.userId, 'run-1', {
      vms: 3,
      vcpu: 3,
      memoryMiB: 384,
      diskGiB: 3,
    });
    await box.services.reservations.setInUse(held.id, {
      vms: 1,
      vcpu: 1,
      memoryMiB: 128,
      diskGiB: 1,
    });

    const asAdmin = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/capacity',
        headers: { cookie: admin.cookie },
      })
    ).json();
    expect(asAdmin.box.vms).toEqual({ total: 8, used: 1, reserved: 2, free: 5 });
    expect(asAdmin.box.memoryMiB).toEqual({ total: 8192, used: 128, reserved: 256, free: 7808 });
    expect(asAdmin.users).toHaveLength(2);

    const asOlga = (
      await box.app.inject({
        method: 'GET',
        url: '/api/v1/capacity',
        headers: { cookie: olga.cookie },
      })
    ).json();
    expect(asOlga.users).toEqual([
      {
        userId: olga.userId,
        quota: {},
        usage: expect.objectContaining({ vms: { total: null, used: 1, reserved: 2, free: null } }),
      },
    ]);
  });

  it('validates quotas at the edge and refuses unknown users', async () => {
    box = await makeAppliance();
    const admin = await setupAdmin(box.app);
    const negative = await box.app.inject({
      method: 'PUT',
      url: `/api/v1/users/${admin.userId}/quota`,
      headers: as(admin),
      payload: { vms: -1 },
    });
    expect(negative.statusCode).toBe(400);
    expect(negative.json().error.details.fields).toEqual([
      { field: 'body.vms', message: 'must not be negative' },
    ]);
    const unknown = await box.app.inject({
      method: 'PUT',
      url: '/api/v1/users/nobody/quota',
      headers: as(admin),
      payload: { vms: 1 },
    });
    expect(unknown.statusCode).toBe(404);
    expect(box.services.store.data.quotas).toEqual({});
  });
});

import { describe, expect, it } from 'vitest';
import {
  findRefusal,
  usage,
  type Amounts,
  type Reservation,
} from '../../appliance/src/domain/capacity.ts';

const box: Amounts = { vms: 8, vcpu: 16, memoryMiB: 4096, diskGiB: 100 };
const held = (owner: string, amounts: Partial<Amounts>): Reservation => ({
  id: owner,
  owner,
  purpose: 'run',
  createdAt: '',
  amounts: { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0, ...amounts },
  inUse: { vms: 0, vcpu: 0, memoryMiB: 0, diskGiB: 0 },
});

describe('findRefusal', () => {
  it('fits exactly up to the limit and refuses one beyond', () => {
    const reservations = [held('a', { vms: 7, memoryMiB: 1000 })];
    expect(
      findRefusal(box, undefined, reservations, 'b', {
        vms: 1,
        vcpu: 1,
        memoryMiB: 96,
        diskGiB: 1,
      }),
    ).toBeNull();
    expect(
      findRefusal(box, undefined, reservations, 'b', {
        vms: 2,
        vcpu: 1,
        memoryMiB: 96,
        diskGiB: 1,
      }),
    ).toEqual({ scope: 'box', resource: 'vms', held: 7, asked: 2, allowed: 8 });
  });

  it('checks every resource, not only VMs', () => {
    expect(
      findRefusal(box, undefined, [held('a', { memoryMiB: 4000 })], 'b', {
        vms: 1,
        vcpu: 1,
        memoryMiB: 128,
        diskGiB: 1,
      }),
    ).toMatchObject({ resource: 'memoryMiB', allowed: 4096 });
  });

  it('counts only the owner against their quota', () => {
    const reservations = [held('a', { vms: 3 }), held('b', { vms: 1 })];
    expect(
      findRefusal(box, { vms: 2 }, reservations, 'b', {
        vms: 1,
        vcpu: 0,
        memoryMiB: 0,
        diskGiB: 0,
      }),
    ).toBeNull();
    expect(
      findRefusal(box, { vms: 2 }, reservations, 'b', {
        vms: 2,
        vcpu: 0,
        memoryMiB: 0,
        diskGiB: 0,
      }),
    ).toMatchObject({ scope: 'user', held: 1 });
  });
});

describe('usage', () => {
  it('splits held amounts into used and reserved, with no total where there is no limit', () => {
    const reservation = held('a', { vms: 3 });
    reservation.inUse.vms = 1;
    expect(usage(box, [reservation]).vms).toEqual({ total: 8, used: 1, reserved: 2, free: 5 });
    expect(usage({}, [reservation]).vms).toEqual({ total: null, used: 1, reserved: 2, free: null });
  });
});

import { describe, expect, it } from 'vitest';
import {
  describeQuota,
  quotaBody,
  quotaText,
} from '../../renderer/src/features/users/quota-form.ts';

const blank = { vms: '', vcpu: '', memoryMiB: '', diskGiB: '', runs: '' };

describe('the quota form', () => {
  it('sends only the filled fields: an empty one is limited by the box alone', () => {
    expect(quotaBody({ ...blank, vms: '3', memoryMiB: ' 2048 ' })).toEqual({
      body: { vms: 3, memoryMiB: 2048 },
      problems: null,
    });
    expect(quotaBody(blank)).toEqual({ body: {}, problems: null });
  });

  it("says what is wrong with each field, in the API schema's words", () => {
    const checked = quotaBody({ ...blank, vms: '-1', vcpu: '1.5', diskGiB: 'lots' });
    expect(checked.body).toBeNull();
    expect(checked.problems).toEqual({
      vms: 'must not be negative',
      vcpu: 'must be a whole number',
      diskGiB: 'must be a number',
    });
  });

  it('shows a saved quota and describes it', () => {
    expect(quotaText({ vms: 2 })).toEqual({ ...blank, vms: '2' });
    expect(describeQuota({ vms: 2, diskGiB: 40 })).toBe('VMs 2, Disk (GiB) 40');
    expect(describeQuota({ runs: 5 })).toBe('Live runs 5');
    expect(quotaBody({ ...blank, runs: '5' })).toEqual({ body: { runs: 5 }, problems: null });
    expect(describeQuota({})).toBe('Only the box limits');
  });
});

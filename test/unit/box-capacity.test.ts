import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onSmallDisk } from '../fixtures/small-disk.ts';

const mib = 1024 * 1024;

describe('the disk formula', () => {
  it("offers free space plus what the box's VMs already hold, less the reserve: a VM's files growing do not change it, anything else filling the disk does", async () => {
    // A real file system of 64 MiB (a tmpfs in a mount namespace of the child's own), so its free
    // space is exactly what the files written take.
    const report = (await onSmallDisk(
      '64m',
      `import { mkdirSync, writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { boxCapacity, vmDiskBytes } from ${JSON.stringify(join(process.cwd(), 'appliance/src/host/box-capacity.ts'))};
const disk = process.argv[2];
const vms = join(disk, 'vms');
mkdirSync(join(vms, 'bvc-a'), { recursive: true });
const reserve = ${mib};
const now = () => vmDiskBytes(vms, reserve);
const report: Record<string, number> = { empty: now() };
writeFileSync(join(vms, 'bvc-a', 'overlay.qcow2'), Buffer.alloc(${8 * mib}, 1));
report.vmGrew = now();
writeFileSync(join(disk, 'other'), Buffer.alloc(${8 * mib}, 1));
report.otherFilled = now();
// A thin overlay's virtual size is not what it holds: only its written blocks count.
writeFileSync(join(vms, 'bvc-a', 'sparse.qcow2'), '');
truncateSync(join(vms, 'bvc-a', 'sparse.qcow2'), ${1024 * mib});
report.sparse = now();
const capped = boxCapacity({ maxVms: 8, vcpuOvercommit: 1, memoryOvercommit: 1, hostReservedMemoryMiB: 0, diskGiB: 0 }, vms)();
report.cappedDiskGiB = capped.diskGiB;
console.log(JSON.stringify(report));
`,
    )) as Record<string, number>;
    // 64 MiB less the reserve, less the few blocks the folders take.
    expect(report.empty).toBeGreaterThan(62 * mib);
    expect(report.empty).toBeLessThanOrEqual(63 * mib);
    expect(Math.abs(report.vmGrew! - report.empty!)).toBeLessThanOrEqual(64 * 1024);
    expect(report.vmGrew! - report.otherFilled!).toBe(8 * mib);
    expect(Math.abs(report.sparse! - report.otherFilled!)).toBeLessThanOrEqual(64 * 1024);
    expect(report.cappedDiskGiB).toBe(0);
  });
});

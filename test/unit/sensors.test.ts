import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuTemperature, mountPoints } from '../../appliance/src/host/sensors.ts';
import { tempDir } from '../fixtures/appliance.ts';

/**
 * Sensors are read from sysfs; this machine (a VM) has none, so these tests lay out a stand-in
 * /sys/class folder (a fake, named as such) with the files the kernel's drivers write.
 */
async function fakeSysClass(files: Record<string, string>): Promise<string> {
  const root = await tempDir('bivouac-fake-sysfs-');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), `${text}\n`);
  }
  return root;
}

describe('the CPU temperature', () => {
  it("is the package's reading of a CPU hwmon driver, with its hottest core as max", async () => {
    const root = await fakeSysClass({
      'hwmon/hwmon0/name': 'nvme',
      'hwmon/hwmon0/temp1_input': '80000',
      'hwmon/hwmon1/name': 'coretemp',
      'hwmon/hwmon1/temp1_input': '52000',
      'hwmon/hwmon1/temp1_label': 'Package id 0',
      'hwmon/hwmon1/temp2_input': '49000',
      'hwmon/hwmon1/temp2_label': 'Core 0',
      'hwmon/hwmon1/temp10_input': '61500',
      'hwmon/hwmon1/temp10_label': 'Core 8',
    });
    expect(await cpuTemperature(root)).toEqual({ main: 52, max: 61.5 });
  });

  it("is a CPU thermal zone's when no hwmon driver measures the CPU", async () => {
    const root = await fakeSysClass({
      'hwmon/hwmon0/name': 'acpitz',
      'hwmon/hwmon0/temp1_input': '27800',
      'thermal/thermal_zone0/type': 'acpitz',
      'thermal/thermal_zone0/temp': '27800',
      'thermal/thermal_zone1/type': 'x86_pkg_temp',
      'thermal/thermal_zone1/temp': '45000',
    });
    expect(await cpuTemperature(root)).toEqual({ main: 45, max: 45 });
  });

  it('is null without a sensor', async () => {
    expect(await cpuTemperature(await fakeSysClass({ 'hwmon/hwmon0/name': 'nvme' }))).toBeNull();
    expect(await cpuTemperature(await tempDir('bivouac-empty-sysfs-'))).toBeNull();
  });

  it("is null or a sane figure on this machine's real sysfs", async () => {
    const reading = await cpuTemperature();
    if (reading !== null) expect(reading.main).toBeGreaterThan(0);
    if (reading !== null) expect(reading.max).toBeLessThan(150);
    expect(reading === null || reading.max >= reading.main).toBe(true);
  });
});

describe('the mount table', () => {
  it('lists mount points with the kernel escapes undone', async () => {
    const root = await fakeSysClass({
      mountinfo: [
        '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
        '45 22 8:17 / /mnt/usb\\040stick rw,nosuid - vfat /dev/sdb1 rw',
      ].join('\n'),
    });
    expect(await mountPoints(join(root, 'mountinfo'))).toEqual(['/', '/mnt/usb stick']);
  });

  it("holds this machine's root", async () => {
    expect(await mountPoints()).toContain('/');
  });
});

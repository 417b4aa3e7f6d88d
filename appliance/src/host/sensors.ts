import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The CPU's temperature and the mount table, read from the kernel's files: every 10 s for as
 * long as the box runs, a sample reads a few small files and loads no library.
 */

/** hwmon drivers that measure the CPU package (Intel, AMD, ARM boards). */
const cpuHwmonDrivers = new Set(['coretemp', 'k10temp', 'zenpower', 'k8temp', 'cpu_thermal']);
/** Thermal zones that stand for the CPU when no hwmon driver does. */
const cpuThermalZones = new Set(['x86_pkg_temp', 'cpu-thermal', 'cpu_thermal', 'soc-thermal']);

/** A sysfs file's text, trimmed; null when it cannot be read. */
async function sysfsText(path: string): Promise<string | null> {
  return readFile(path, 'utf8').then(
    (text) => text.trim(),
    () => null,
  );
}

/** Millidegrees as written by the kernel, in °C; null when unreadable. */
async function celsius(path: string): Promise<number | null> {
  const text = await sysfsText(path);
  const value = text === null ? Number.NaN : Number(text) / 1000;
  return Number.isFinite(value) ? value : null;
}

/**
 * The CPU temperature: `main` is the package's (or the first sensor's), `max` the hottest of
 * its sensors. From a CPU hwmon driver in `sysClass/hwmon`, else a CPU thermal zone in
 * `sysClass/thermal`; null when the host exposes neither (a VM, most often).
 */
export async function cpuTemperature(
  sysClass = '/sys/class',
): Promise<{ main: number; max: number } | null> {
  const hwmon = join(sysClass, 'hwmon');
  for (const device of (await readdir(hwmon).catch(() => [])).sort()) {
    if (!cpuHwmonDrivers.has((await sysfsText(join(hwmon, device, 'name'))) ?? '')) continue;
    const inputs = (await readdir(join(hwmon, device)))
      .filter((file) => /^temp\d+_input$/.test(file))
      .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
    const readings: { label: string; value: number }[] = [];
    for (const input of inputs) {
      const value = await celsius(join(hwmon, device, input));
      const label = await sysfsText(join(hwmon, device, input.replace('_input', '_label')));
      if (value !== null) readings.push({ label: label ?? '', value });
    }
    if (readings.length === 0) continue;
    const main =
      readings.find((reading) => /^(Package id|Tctl|Tdie)/.test(reading.label)) ?? readings[0]!;
    return { main: main.value, max: Math.max(...readings.map((reading) => reading.value)) };
  }
  const thermal = join(sysClass, 'thermal');
  for (const zone of (await readdir(thermal).catch(() => [])).sort()) {
    if (!zone.startsWith('thermal_zone')) continue;
    if (!cpuThermalZones.has((await sysfsText(join(thermal, zone, 'type'))) ?? '')) continue;
    const value = await celsius(join(thermal, zone, 'temp'));
    if (value !== null) return { main: value, max: value };
  }
  return null;
}

/**
 * The mount points listed in a `mountinfo` file (field 5 of each line, with the kernel's octal
 * escapes of space, tab, newline and backslash undone).
 */
export async function mountPoints(mountinfo = '/proc/self/mountinfo'): Promise<string[]> {
  const text = await readFile(mountinfo, 'utf8');
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => Boolean(field))
    .map((field) =>
      field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
    );
}

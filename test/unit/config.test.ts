import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopback, loadConfig, parseHostPort } from '../../appliance/src/config.ts';
import { tempDir } from '../fixtures/appliance.ts';

describe('loadConfig', () => {
  it('uses defaults when there is no config file', async () => {
    const dataDir = await tempDir();
    const config = await loadConfig({ BIVOUAC_DATA_DIR: dataDir });
    expect(config).toMatchObject({
      dataDir,
      listen: '0.0.0.0:8443',
      localListen: '127.0.0.1:8080',
      tls: 'auto',
      libvirtUri: null,
      adminPassword: null,
      powerControl: 'host',
    });
  });

  it('turns the power buttons off from the environment, and refuses an unknown setting', async () => {
    const dataDir = await tempDir();
    expect(
      await loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_POWER_CONTROL: 'off' }),
    ).toMatchObject({ powerControl: 'off' });
    await expect(
      loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_POWER_CONTROL: 'maybe' }),
    ).rejects.toThrow(/powerControl/);
  });

  it('takes the cloud health interval from the file or the environment, and refuses a bad one', async () => {
    const dataDir = await tempDir();
    expect(await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).toMatchObject({
      cloudHealthSeconds: 15,
    });
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ cloudHealthSeconds: 60 }));
    expect(await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).toMatchObject({
      cloudHealthSeconds: 60,
    });
    expect(
      await loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_CLOUD_HEALTH_SECONDS: '5' }),
    ).toMatchObject({ cloudHealthSeconds: 5 });
    await expect(
      loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_CLOUD_HEALTH_SECONDS: 'often' }),
    ).rejects.toThrow(/cloudHealthSeconds/);
    await expect(
      loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_CLOUD_HEALTH_SECONDS: '0' }),
    ).rejects.toThrow(/cloudHealthSeconds/);
  });

  it('M1/M9: takes host names and a setup code, and refuses a service host the UI is served under', async () => {
    const dataDir = await tempDir();
    expect(
      await loadConfig({
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_HOST_NAMES: 'box.lan, box',
        BIVOUAC_SETUP_CODE: 'ABCD-EFGH-JKMN',
      }),
    ).toMatchObject({ hostNames: ['box.lan', 'box'], setupCode: 'ABCD-EFGH-JKMN' });
    expect(await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).toMatchObject({
      hostNames: [],
      setupCode: null,
    });
    await expect(
      loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_SETUP_CODE: 'password' }),
    ).rejects.toThrow(/BIVOUAC_SETUP_CODE/);
    for (const publicHost of ['127.0.0.1', 'localhost', 'BOX.lan']) {
      await expect(
        loadConfig({
          BIVOUAC_DATA_DIR: dataDir,
          BIVOUAC_PUBLIC_HOST: publicHost,
          BIVOUAC_HOST_NAMES: 'box.lan',
        }),
        publicHost,
      ).rejects.toThrow(/publicHost/);
    }
    expect(
      await loadConfig({
        BIVOUAC_DATA_DIR: dataDir,
        BIVOUAC_PUBLIC_HOST: '10.0.0.6',
        BIVOUAC_HOST_NAMES: 'box.lan',
      }),
    ).toMatchObject({ publicHost: '10.0.0.6' });
  });

  it('takes the import folders from the file or the environment (":"-separated), and refuses relative ones', async () => {
    const dataDir = await tempDir();
    expect(await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).toMatchObject({ importDirs: [] });
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ importDirs: ['/srv/field'] }));
    expect(await loadConfig({ BIVOUAC_DATA_DIR: dataDir })).toMatchObject({
      importDirs: ['/srv/field'],
    });
    expect(
      await loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_IMPORT_DIRS: '/srv/a:/srv/b' }),
    ).toMatchObject({ importDirs: ['/srv/a', '/srv/b'] });
    await expect(
      loadConfig({ BIVOUAC_DATA_DIR: dataDir, BIVOUAC_IMPORT_DIRS: 'usb' }),
    ).rejects.toThrow(/importDirs/);
  });

  it('reads the file, and the environment wins over it', async () => {
    const dataDir = await tempDir();
    await writeFile(
      join(dataDir, 'config.json'),
      JSON.stringify({ listen: '10.0.0.5:9443', sessionHours: 12, libvirtUri: 'qemu:///system' }),
    );
    const config = await loadConfig({
      BIVOUAC_DATA_DIR: dataDir,
      BIVOUAC_LIBVIRT_URI: 'test:///default',
      BIVOUAC_ADMIN_PASSWORD: 'from the environment',
    });
    expect(config).toMatchObject({
      listen: '10.0.0.5:9443',
      sessionHours: 12,
      libvirtUri: 'test:///default',
      adminPassword: 'from the environment',
    });
  });

  it('names every bad key and what is allowed', async () => {
    const dataDir = await tempDir();
    const error = await loadConfig({
      BIVOUAC_DATA_DIR: dataDir,
      BIVOUAC_LISTEN: 'localhost',
      BIVOUAC_TLS: 'sometimes',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/listen: must be host:port/);
    expect((error as Error).message).toMatch(/tls: .*"auto"/);
  });

  it('says which file is not JSON', async () => {
    const dataDir = await tempDir();
    await writeFile(join(dataDir, 'config.json'), '{ listen: ');
    await expect(loadConfig({ BIVOUAC_DATA_DIR: dataDir })).rejects.toThrow(
      join(dataDir, 'config.json'),
    );
  });
});

describe('addresses', () => {
  it('parses host:port including IPv6 and tells loopback apart', () => {
    expect(parseHostPort('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(isLoopback('127.0.0.2')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('192.168.1.10')).toBe(false);
  });
});

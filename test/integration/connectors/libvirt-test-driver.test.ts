import { readdir } from 'node:fs/promises';
import { Hypervisor } from '@unraid/libvirt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  buildDomainXml,
  readOwnership,
} from '../../../appliance/src/connectors/libvirt/domain-xml.ts';
import {
  LibvirtConnector,
  libvirtKind,
} from '../../../appliance/src/connectors/libvirt/libvirt-connector.ts';
import { ConnectorRegistry, ManifestError } from '../../../appliance/src/connectors/registry.ts';
import { tempDir } from '../../fixtures/appliance.ts';
import { vmSpec } from '../../fixtures/vm-spec.ts';

const spec = vmSpec;

const connectors: LibvirtConnector[] = [];
afterEach(async () => {
  for (const connector of connectors.splice(0)) await connector.close();
});

async function testDriver(): Promise<{ connector: LibvirtConnector; stateDir: string }> {
  const stateDir = await tempDir();
  const registry = new ConnectorRegistry();
  registry.register(libvirtKind({ stateDir }));
  const connector = registry.create('libvirt', { uri: 'test:///default' }) as LibvirtConnector;
  connectors.push(connector);
  return { connector, stateDir };
}

describe('libvirt connector on the test driver', () => {
  it('launches, lists, describes and terminates, leaving nothing behind', async () => {
    const { connector, stateDir } = await testDriver();
    const ids = await connector.launch([
      spec('bvc-run-1-web-1'),
      spec('bvc-run-1-web-2', { instance: 'web.2' }),
    ]);
    expect(ids).toEqual(['bvc-run-1-web-1', 'bvc-run-1-web-2']);
    expect((await readdir(stateDir)).sort()).toEqual(ids);

    const described = await connector.describe(ids);
    expect(described.map((vm) => vm.state)).toEqual(['running', 'running']);
    expect(described[1]?.bivouac).toEqual({ runId: 'run-1', instance: 'web.2', owner: 'user-1' });

    const listed = await connector.list();
    const ours = listed
      .filter((vm) => vm.bivouac !== null)
      .map((vm) => vm.name)
      .sort();
    expect(ours).toEqual(ids);
    // The test driver's own default domain is not Bivouac's: it is listed as foreign.
    expect(listed.find((vm) => vm.name === 'test')?.bivouac).toBeNull();

    await connector.terminate(ids);
    expect(await connector.describe(ids)).toEqual([]);
    expect(await readdir(stateDir)).toEqual([]);
    // Terminating again is harmless.
    await connector.terminate(ids);
  });

  it('answers ping with a latency', async () => {
    const { connector } = await testDriver();
    expect(await connector.ping()).toBeGreaterThanOrEqual(0);
  });

  it('refuses a VM name that is not safe as a domain and folder name, creating nothing', async () => {
    const { connector, stateDir } = await testDriver();
    await expect(connector.launch([spec('../escape')])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(await readdir(stateDir)).toEqual([]);
  });
});

describe('XML safety', () => {
  const hostile = `<b>"quoted" & 'single' </domain><!-- ]]> ünïcödé 🚀`;

  it('keeps names, titles and context as literal text through libvirt', async () => {
    const { connector } = await testDriver();
    await connector.launch([
      spec('bvc-xml-1', {
        title: hostile,
        runId: hostile,
        owner: hostile,
        context: { 'bivouac.note': hostile },
      }),
    ]);
    // test:///default is private to each connection: read back through the connector's own.
    const [description] = await connector.describe(['bvc-xml-1']);
    expect(description?.bivouac).toEqual({ runId: hostile, instance: 'web.1', owner: hostile });
  });

  it('produces well-formed XML holding the literal text, and drops characters XML cannot carry', () => {
    const xml = buildDomainXml(
      spec('bvc-a', { title: `${hostile}\u0001\u001f`, owner: hostile }),
      { overlay: null, seed: null, consoleLog: '/tmp/c.log' },
      'qemu',
    );
    expect(xml).not.toContain('<b>');
    expect(xml).toContain('&lt;b&gt;');
    expect(xml.includes('\u0001') || xml.includes('\u001f')).toBe(false);
    expect(readOwnership(xml)?.owner).toBe(hostile);
  });
});

describe('connector registry', () => {
  it('refuses a manifest that breaks the contract', () => {
    const registry = new ConnectorRegistry();
    const create = () => {
      throw new Error('never');
    };
    expect(() =>
      registry.register({
        manifest: {
          kind: 'Bad Kind',
          version: '1',
          capabilities: ['launch'],
          configSchema: z.object({}),
          description: 'x',
        },
        create,
      }),
    ).toThrow(ManifestError);
    expect(() =>
      registry.register({
        manifest: {
          kind: 'partial',
          version: '1.0.0',
          capabilities: ['launch'],
          configSchema: z.object({}),
          description: 'x',
        },
        create,
      }),
    ).toThrow(/lacks required capabilities: terminate, describe, list/);
    registry.register(libvirtKind({ stateDir: '/tmp' }));
    expect(() => registry.register(libvirtKind({ stateDir: '/tmp' }))).toThrow(/registered twice/);
  });

  it('gives typed errors for an unknown kind and a bad config', () => {
    const registry = new ConnectorRegistry();
    registry.register(libvirtKind({ stateDir: '/tmp' }));
    expect(() => registry.create('openstack', {})).toThrow(
      expect.objectContaining({
        code: 'UNKNOWN_CONNECTOR_KIND',
        details: { kind: 'openstack', known: ['libvirt'] },
      }),
    );
    expect(() => registry.create('libvirt', { uri: 'http://example/' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
    expect(() => registry.create('libvirt', { uri: 'qemu:///system', colour: 'red' })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        details: { fields: [expect.objectContaining({ field: 'body.config.colour' })] },
      }),
    );
  });
});

describe('never hang, always recover', () => {
  it('reports an unreachable host as a typed error and backs off before retrying', async () => {
    const stateDir = await tempDir();
    const connector = new LibvirtConnector(
      { uri: 'qemu+tcp://127.0.0.1:1/system', accelerator: 'auto', callTimeoutSeconds: 5 },
      { stateDir, minBackoffMs: 60_000 },
    );
    connectors.push(connector);
    await expect(connector.ping()).rejects.toMatchObject({ code: 'CLOUD_UNREACHABLE' });
    const second = await connector.ping().catch((error: unknown) => error);
    expect(second).toMatchObject({
      code: 'CLOUD_UNREACHABLE',
      details: { retryInMs: expect.any(Number) },
    });
    expect(connector.lastConnectionError).toMatch(/127\.0\.0\.1/);
  });

  it('keeps the connection when the daemon itself fails a start, and leaves no domain behind', async () => {
    const { connector, stateDir } = await testDriver();
    // A stand-in for libvirtd unable to reach virtlogd: the test driver starts every domain, so
    // its start is made to fail with the words libvirt uses then. The daemon itself still answers.
    const start = vi
      .spyOn(Hypervisor.prototype, 'domainCreate')
      .mockRejectedValueOnce(
        Object.assign(
          new Error("Failed to connect socket to '/run/libvirt/virtlogd-sock': Connection refused"),
          { code: 38 },
        ),
      );
    try {
      const failed = await connector
        .launch([spec('bvc-run-9-web-1')])
        .catch((error: unknown) => error);
      expect(failed).toMatchObject({
        code: 'CLOUD_REFUSED',
        message: expect.stringContaining('refused start: Failed to connect socket'),
      });
    } finally {
      start.mockRestore();
    }
    expect((await connector.list()).map((vm) => vm.name)).not.toContain('bvc-run-9-web-1');
    expect(await readdir(stateDir)).toEqual([]);
    // Not taken for a lost connection: no backoff, the next call goes through at once.
    expect(await connector.ping()).toBeGreaterThan(0);
    expect(connector.lastConnectionError).toBeNull();
  });
});

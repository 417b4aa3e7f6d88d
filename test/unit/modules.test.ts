import { describe, expect, it } from 'vitest';
import { parseReference, type ModuleLookup } from '../../appliance/src/domain/module-references.ts';
import { resolveImage } from '../../appliance/src/domain/module-resolution.ts';
import {
  checkValue,
  validateDeployment,
  validateImage,
} from '../../appliance/src/domain/module-validation.ts';
import {
  isSecret,
  type DeploymentContent,
  type ImageContent,
  type ModuleContent,
} from '../../appliance/src/domain/modules.ts';

function image(overrides: Partial<ImageContent> = {}): ImageContent {
  return {
    kind: 'image',
    parent: null,
    nativeImages: {},
    recipes: {},
    inputs: [],
    outputs: [],
    ports: [],
    ...overrides,
  };
}

/** Modules by path, each a list of versions (index 0 is version 1). */
function lookupOf(modules: Record<string, ModuleContent[]>): ModuleLookup {
  return (path, version) => {
    const versions = modules[path];
    if (!versions) return null;
    const chosen = version ?? versions.length;
    const content = versions[chosen - 1];
    return content ? { version: chosen, content } : null;
  };
}

describe('module references', () => {
  it('parses floating and pinned references', () => {
    expect(parseReference('/examples/web')).toEqual({ path: '/examples/web', version: null });
    expect(parseReference('/examples/web@3')).toEqual({ path: '/examples/web', version: 3 });
    for (const bad of [
      'examples/web',
      '/Examples',
      '/a/b@',
      '/a/b@0',
      '/a/../b',
      '/a//b',
      '/a/b@x',
    ]) {
      expect(() => parseReference(bad), bad).toThrow(/module reference|version 0/);
    }
  });
});

describe('image inheritance', () => {
  const lookup = lookupOf({
    '/base/linux': [
      image({
        nativeImages: { libvirt: { imageId: 'tiny' } },
        resources: { vcpu: 1, memoryMiB: 128 },
        recipes: { preInstall: 'echo base', deploy: 'echo old' },
        inputs: [{ name: 'tz', type: 'string', default: 'UTC' }],
        packages: ['curl'],
      }),
      image({
        nativeImages: { libvirt: { imageId: 'debian' } },
        resources: { vcpu: 2 },
        recipes: { preInstall: 'echo base v2' },
      }),
    ],
    '/apps/web': [
      image({
        parent: '/base/linux@1',
        recipes: { deploy: 'httpd' },
        resources: { memoryMiB: 256 },
        inputs: [
          { name: 'tz', type: 'string', default: 'Europe/Zurich' },
          { name: 'port', type: 'number', default: '80' },
        ],
        outputs: [{ name: 'url' }],
        packages: ['nginx', 'curl'],
      }),
    ],
    '/apps/loop-a': [image({ parent: '/apps/loop-b' })],
    '/apps/loop-b': [image({ parent: '/apps/loop-a' })],
    '/apps/deploy': [{ kind: 'deployment', nodes: [] }],
    '/apps/orphan': [image({ parent: '/base/missing' })],
  });

  it('merges the parent chain, child winning', () => {
    const resolved = resolveImage('/apps/web', lookup);
    expect(resolved.chain).toEqual(['/apps/web@1', '/base/linux@1']);
    expect(resolved.nativeImages).toEqual({ libvirt: { imageId: 'tiny' } }); // pinned parent @1
    expect(resolved.resources).toEqual({ vcpu: 1, memoryMiB: 256, diskGiB: 2 });
    expect(resolved.recipes).toEqual({ preInstall: 'echo base', deploy: 'httpd' });
    expect(resolved.inputs).toEqual([
      { name: 'tz', type: 'string', default: 'Europe/Zurich' },
      { name: 'port', type: 'number', default: '80' },
    ]);
    expect(resolved.packages).toEqual(['curl', 'nginx']);
    expect(resolveImage('/base/linux', lookup).resources).toEqual({
      vcpu: 2,
      memoryMiB: 256,
      diskGiB: 2,
    }); // latest version
  });

  it('refuses cycles, missing parents and non-images', () => {
    expect(() => resolveImage('/apps/loop-a', lookup)).toThrow(
      'Image inheritance loops: /apps/loop-a@1 → /apps/loop-b@1 → /apps/loop-a.',
    );
    expect(() => resolveImage('/apps/orphan', lookup)).toThrow('No module /base/missing.');
    expect(() => resolveImage('/apps/deploy', lookup)).toThrow(
      '/apps/deploy is a deployment, not an image.',
    );
    expect(() => resolveImage('/base/linux@7', lookup)).toThrow('No module /base/linux@7.');
  });
});

describe('deployment validation', () => {
  const lookup = lookupOf({
    '/apps/db': [
      image({
        outputs: [{ name: 'port' }, { name: 'ready' }],
        inputs: [{ name: 'password', type: 'password' }],
      }),
    ],
    '/apps/web': [
      image({
        inputs: [
          { name: 'db_port', type: 'number' },
          { name: 'title', type: 'string', default: 'Hello' },
        ],
        outputs: [{ name: 'url.service' }],
      }),
    ],
  });
  const node = (name: string, imageRef: string, mappings = {}, extra = {}) => ({
    name,
    image: imageRef,
    multiplicity: 1,
    cloud: null,
    maxFailures: 0,
    mappings,
    ...extra,
  });

  it('accepts a deployment whose inputs are all mapped or defaulted', () => {
    const deployment: DeploymentContent = {
      kind: 'deployment',
      nodes: [
        node('db', '/apps/db', { password: { value: 's3cret' } }),
        node(
          'web',
          '/apps/web',
          { db_port: { output: 'db:port' } },
          { multiplicity: 3, maxFailures: 1 },
        ),
      ],
    };
    expect(validateDeployment(deployment, lookup)).toEqual([]);
  });

  it('names every problem with its field', () => {
    const deployment: DeploymentContent = {
      kind: 'deployment',
      nodes: [
        node('db', '/apps/db'),
        node('web', '/apps/web', { db_port: { output: 'db:socket' }, colour: { value: 'red' } }),
        node('Web 2', '/apps/none', {}, { multiplicity: -1 }),
        node('db', '/apps/web', { db_port: { output: 'cache:port' } }, { maxFailures: 1 }),
      ],
    };
    const problems = validateDeployment(deployment, lookup);
    expect(problems.map((problem) => problem.field).sort()).toEqual(
      [
        'nodes.0.mappings.password',
        'nodes.1.mappings.db_port',
        'nodes.1.mappings.colour',
        'nodes.2.name',
        'nodes.2.multiplicity',
        'nodes.2.image',
        'nodes.3.name',
        'nodes.3.maxFailures',
        'nodes.3.mappings.db_port',
      ].sort(),
    );
    expect(problems.find((problem) => problem.field === 'nodes.1.mappings.db_port')?.message).toBe(
      'node db has no output socket; it has: port, ready',
    );
    expect(validateDeployment({ kind: 'deployment', nodes: [] }, lookup)).toEqual([
      { field: 'nodes', message: 'a deployment needs at least one node' },
    ]);
  });
});

describe('parameter values', () => {
  it('checks values by type and size, and knows what is secret', () => {
    expect(checkValue({ name: 'n', type: 'number' }, '42')).toBeNull();
    expect(checkValue({ name: 'n', type: 'number' }, 'forty')).toBe('must be a number');
    expect(checkValue({ name: 'n', type: 'number' }, ' ')).toBe('must be a number');
    expect(checkValue({ name: 'b', type: 'boolean' }, 'yes')).toBe('must be true or false');
    expect(checkValue({ name: 'e', type: 'enum', options: ['s', 'm'] }, 'l')).toBe(
      'must be one of: s, m',
    );
    expect(checkValue({ name: 'h', type: 'hostname' }, 'db.example.org')).toBeNull();
    expect(checkValue({ name: 'h', type: 'hostname' }, 'bad host')).toBe('must be a host name');
    expect(checkValue({ name: 's', type: 'string' }, 'é'.repeat(2049))).toBe(
      'must be at most 4096 bytes',
    );
    expect(isSecret({ name: 'p', type: 'password' })).toBe(true);
    expect(isSecret({ name: 'k', type: 'string', secret: true })).toBe(true);
    expect(isSecret({ name: 'k', type: 'string' })).toBe(false);
  });
});

describe('validateImage', () => {
  it('passes well-named parameters with valid defaults and ports', () => {
    expect(
      validateImage(
        image({
          inputs: [
            { name: 'port', type: 'number', default: '8080' },
            { name: 'size', type: 'enum', options: ['s', 'm'], default: 'm' },
            { name: 'admin_password', type: 'password' },
          ],
          outputs: [{ name: 'url.web' }],
          ports: [{ name: 'http', port: 80, protocol: 'http' }],
        }),
      ),
    ).toEqual([]);
  });

  it('names each field with a problem: bad and repeated names, defaults of the wrong type, enums without options, ports out of range', () => {
    expect(
      validateImage(
        image({
          inputs: [
            { name: 'port', type: 'number', default: 'eighty' },
            { name: 'port', type: 'boolean', default: 'yes' },
            { name: '9lives', type: 'string' },
            { name: 'size', type: 'enum', default: 'xl' },
            { name: 'host', type: 'hostname', default: 'not a host' },
            { name: 'tier', type: 'enum', options: ['free', 'paid'], default: 'gold' },
          ],
          outputs: [{ name: 'ready' }, { name: 'ready' }],
          ports: [
            { name: 'http', port: 0, protocol: 'http' },
            { name: 'http', port: 80.5, protocol: 'tcp' },
            { name: 'ssh', port: 22, protocol: 'tcp' },
          ],
        }),
      ),
    ).toEqual([
      { field: 'inputs.1.name', message: 'another input is already named port' },
      {
        field: 'inputs.2.name',
        message: 'must start with a letter; letters, digits, "_", "." or "-", at most 64',
      },
      { field: 'outputs.1.name', message: 'another output is already named ready' },
      { field: 'ports.1.name', message: 'another port is already named http' },
      { field: 'inputs.0.default', message: 'the default must be a number' },
      { field: 'inputs.1.default', message: 'the default must be true or false' },
      { field: 'inputs.3.options', message: 'an enum needs at least one option' },
      { field: 'inputs.4.default', message: 'the default must be a host name' },
      { field: 'inputs.5.default', message: 'the default must be one of: free, paid' },
      { field: 'ports.0.port', message: 'must be a whole number from 1 to 65535' },
      { field: 'ports.1.port', message: 'must be a whole number from 1 to 65535' },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import type {
  DeploymentContent,
  ImageContent,
  ModuleContent,
} from '../../appliance/src/domain/modules.ts';
import {
  checkDeployment,
  inputRows,
  missingReferences,
  outputChoices,
  problemsByField,
  resolveNodes,
  type LoadedModules,
} from '../../renderer/src/features/modules/deployment-check.ts';
import { diffCounts, diffLines } from '../../renderer/src/features/modules/diff-lines.ts';
import {
  forSave,
  newModulePath,
  suggestedAppId,
} from '../../renderer/src/features/modules/module-draft.ts';
import {
  buildTree,
  projectFor,
  treeKeyMove,
  visibleRows,
  type ModuleSummary,
} from '../../renderer/src/features/modules/module-tree.ts';
import { formFields, labelFor } from '../../renderer/src/features/modules/publish-form.ts';
import {
  deployedNodes,
  formCandidates,
  unaskedInputs,
} from '../../appliance/src/domain/deploy-form.ts';

function summary(path: string, kind: ModuleSummary['kind']): ModuleSummary {
  return {
    path,
    kind,
    owner: 'u1',
    latestVersion: 1,
    updatedAt: '2026-01-01T00:00:00Z',
    description: null,
  };
}

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

function deployment(nodes: Partial<DeploymentContent['nodes'][number]>[]): DeploymentContent {
  return {
    kind: 'deployment',
    nodes: nodes.map((node) => ({
      name: 'web',
      image: '/demo/web',
      multiplicity: 1,
      cloud: null,
      maxFailures: 0,
      mappings: {},
      ...node,
    })),
  };
}

const loaded = (entries: Record<string, ModuleContent | null>): LoadedModules =>
  new Map(
    Object.entries(entries).map(([reference, content]) => [
      reference,
      content && { version: Number(reference.split('@')[1] ?? 1), content },
    ]),
  );

describe('the module tree', () => {
  const modules = [
    summary('/demo/web', 'image'),
    summary('/demo', 'project'),
    summary('/demo/site', 'deployment'),
    summary('/demo/base', 'project'),
    summary('/apps', 'project'),
    summary('/hidden/child', 'image'),
  ];

  it('nests modules under their projects, projects first, and hangs an orphan at the top', () => {
    const tree = buildTree(modules);
    expect(tree.map((node) => node.path)).toEqual(['/apps', '/demo', '/hidden/child']);
    expect(tree[1]!.children.map((node) => node.name)).toEqual(['base', 'site', 'web']);
  });

  it('shows children only under expanded folders, with their depth and parent', () => {
    const tree = buildTree(modules);
    expect(visibleRows(tree, new Set()).map((row) => row.node.path)).toEqual([
      '/apps',
      '/demo',
      '/hidden/child',
    ]);
    const rows = visibleRows(tree, new Set(['/demo', '/apps']));
    expect(rows.map((row) => `${row.depth}:${row.node.name}`)).toEqual([
      '0:apps',
      '0:demo',
      '1:base',
      '1:site',
      '1:web',
      '0:child',
    ]);
    // An expanded folder without children is not shown as expanded.
    expect(rows[0]!.isExpanded).toBe(false);
    expect(rows[1]!.isExpanded).toBe(true);
    expect(rows[3]!.parent).toBe('/demo');
  });

  it('moves with the keys of a tree view', () => {
    const tree = buildTree(modules);
    const closed = visibleRows(tree, new Set());
    const open = visibleRows(tree, new Set(['/demo']));
    expect(treeKeyMove(closed, '/demo', 'ArrowRight')).toEqual({ expand: '/demo' });
    expect(treeKeyMove(open, '/demo', 'ArrowRight')).toEqual({ focus: '/demo/base' });
    expect(treeKeyMove(open, '/demo/site', 'ArrowLeft')).toEqual({ focus: '/demo' });
    expect(treeKeyMove(open, '/demo', 'ArrowLeft')).toEqual({ collapse: '/demo' });
    expect(treeKeyMove(open, '/demo/web', 'ArrowDown')).toEqual({ focus: '/hidden/child' });
    expect(treeKeyMove(open, '/apps', 'ArrowUp')).toBeNull();
    expect(treeKeyMove(open, '/demo/site', 'End')).toEqual({ focus: '/hidden/child' });
    expect(treeKeyMove(open, '/demo/site', 'Home')).toEqual({ focus: '/apps' });
    expect(treeKeyMove(open, '/demo/web', 'ArrowRight')).toBeNull();
    expect(treeKeyMove(open, '/demo/web', 'x')).toBeNull();
  });

  it('puts a new module in the open project, or beside the open module', () => {
    expect(projectFor(summary('/demo', 'project'))).toBe('/demo');
    expect(projectFor(summary('/demo/web', 'image'))).toBe('/demo');
    expect(projectFor(summary('/top', 'image'))).toBeNull();
    expect(projectFor(undefined)).toBeNull();
    expect(newModulePath('/demo', 'web')).toEqual({ path: '/demo/web' });
    expect(newModulePath(null, 'demo')).toEqual({ path: '/demo' });
    expect(newModulePath('/demo', 'Web Server')).toHaveProperty('problem');
    expect(newModulePath(`${'/a'.repeat(16)}`, 'deep')).toEqual({
      problem: 'Modules nest at most 16 levels deep.',
    });
  });
});

describe('checking a deployment as it is typed', () => {
  const web = image({
    inputs: [
      { name: 'greeting', type: 'string' },
      { name: 'db', type: 'hostname' },
      { name: 'port', type: 'number', default: '80' },
    ],
    outputs: [{ name: 'url' }],
  });
  const db = image({ parent: '/demo/base@2', outputs: [{ name: 'host' }] });
  const base = image({ outputs: [{ name: 'ready' }] });

  it('asks for each image and, once loaded, its parents; text being typed is not asked for', () => {
    const content = deployment([
      { image: '/demo/web' },
      { name: 'db', image: '/demo/db@1' },
      { name: 'x', image: '/demo/Ty' },
    ]);
    expect(missingReferences(content, loaded({}))).toEqual(['/demo/web', '/demo/db@1']);
    expect(missingReferences(content, loaded({ '/demo/web': web, '/demo/db@1': db }))).toEqual([
      '/demo/base@2',
    ]);
    expect(
      missingReferences(
        content,
        loaded({ '/demo/web': web, '/demo/db@1': db, '/demo/base@2': base }),
      ),
    ).toEqual([]);
    expect(missingReferences(content, loaded({ '/demo/web': null, '/demo/db@1': null }))).toEqual(
      [],
    );
  });

  it('flags every input without a default that is not mapped, and clears it once mapped', () => {
    const all = loaded({ '/demo/web': web, '/demo/db@1': db, '/demo/base@2': base });
    const unmapped = deployment([{ image: '/demo/web' }, { name: 'db', image: '/demo/db@1' }]);
    const fields = problemsByField(checkDeployment(unmapped, all));
    expect([...fields.keys()]).toEqual(['nodes.0.mappings.greeting', 'nodes.0.mappings.db']);
    expect(fields.get('nodes.0.mappings.greeting')).toEqual([
      'input greeting of web has no default and must be mapped to an output or a value',
    ]);
    const mapped = deployment([
      { image: '/demo/web', mappings: { greeting: { value: 'hi' }, db: { output: 'db:host' } } },
      { name: 'db', image: '/demo/db@1' },
    ]);
    expect(checkDeployment(mapped, all)).toEqual([]);
  });

  it('names outputs that do not exist, bad node names, bounds and unknown images', () => {
    const all = loaded({
      '/demo/web': web,
      '/demo/db@1': db,
      '/demo/base@2': base,
      '/demo/nothing': null,
    });
    const content = deployment([
      {
        name: 'Web',
        image: '/demo/web',
        multiplicity: 65,
        mappings: { greeting: { value: 'hi' }, db: { output: 'db:port' } },
      },
      { name: 'db', image: '/demo/db@1', maxFailures: 1 },
      { name: 'ghost', image: '/demo/nothing' },
    ]);
    const fields = problemsByField(checkDeployment(content, all));
    expect(fields.get('nodes.0.name')).toEqual([
      'must start with a lowercase letter; lowercase letters, digits and "-", at most 32',
    ]);
    expect(fields.get('nodes.0.multiplicity')).toEqual(['must be a whole number from 0 to 64']);
    expect(fields.get('nodes.1.maxFailures')?.[0]).toContain('from 0 to 0');
    expect(fields.get('nodes.2.image')).toEqual(['No module /demo/nothing.']);
    // The parent's outputs count: db inherits `ready` from its base.
    expect(fields.get('nodes.0.mappings.db')).toEqual([
      'node db has no output port; it has: ready, host',
    ]);
  });

  it("offers the other nodes' outputs and lists the inputs with stale mappings last", () => {
    const all = loaded({ '/demo/web': web, '/demo/db@1': db, '/demo/base@2': base });
    const content = deployment([
      { image: '/demo/web', mappings: { greeting: { value: 'hi' }, gone: { value: 'x' } } },
      { name: 'db', image: '/demo/db@1' },
    ]);
    const images = resolveNodes(content, all);
    expect(outputChoices(content, images, 0)).toEqual(['db:ready', 'db:host']);
    expect(outputChoices(content, images, 1)).toEqual(['web:url']);
    const rows = inputRows(images[0], content.nodes[0]!.mappings);
    expect(rows.map((row) => [row.name, row.input === null, row.mapping])).toEqual([
      ['greeting', false, { value: 'hi' }],
      ['db', false, undefined],
      ['port', false, undefined],
      ['gone', true, { value: 'x' }],
    ]);
    expect(resolveNodes(deployment([{ image: 'not a path' }]), all)[0]).toContain(
      'is not a module reference',
    );
  });
});

describe('saving a draft', () => {
  it('leaves out empty optional fields so a child image inherits them', () => {
    const saved = forSave(
      image({
        description: '  ',
        parent: '/demo/base',
        resources: { memoryMiB: 128 },
        packages: [],
        recipes: { deploy: 'httpd', report: '  \n' },
        inputs: [{ name: 'size', type: 'string', description: '', options: ['a'] }],
        outputs: [{ name: 'url', description: 'where' }],
      }),
    );
    expect(saved).toEqual({
      kind: 'image',
      parent: '/demo/base',
      nativeImages: {},
      resources: { memoryMiB: 128 },
      recipes: { deploy: 'httpd' },
      inputs: [{ name: 'size', type: 'string' }],
      outputs: [{ name: 'url', description: 'where' }],
      ports: [],
    });
    expect(forSave({ kind: 'project', description: '' })).toEqual({ kind: 'project' });
  });

  it('suggests an app id the store accepts', () => {
    expect(suggestedAppId('/demo/site')).toBe('site');
    expect(suggestedAppId('/demo/web_server.v2')).toBe('web-server-v2');
    expect(suggestedAppId('/demo/9')).toBe('app');
    for (const path of ['/demo/site', '/demo/web_server.v2', '/demo/9', '/x/a'])
      expect(suggestedAppId(path)).toMatch(/^[a-z][a-z0-9-]{1,63}$/);
  });
});

describe('a diff as lines', () => {
  const diff = [
    '===================================================================',
    '--- /demo/web@1\t2026-01-01',
    '+++ /demo/web@2\t2026-01-02',
    '@@ -1,4 +1,5 @@',
    ' kind: image',
    '-  deploy: |',
    '+  deploy: |-',
    '--- a removed line, not a header',
    '\\ No newline at end of file',
    '',
  ].join('\n');

  it('marks added and removed lines, keeps headers apart and drops the noise', () => {
    const lines = diffLines(diff);
    expect(lines).toEqual([
      { kind: 'file', text: '/demo/web@1' },
      { kind: 'file', text: '/demo/web@2' },
      { kind: 'hunk', text: '@@ -1,4 +1,5 @@' },
      { kind: 'context', text: 'kind: image' },
      { kind: 'removed', text: '  deploy: |' },
      { kind: 'added', text: '  deploy: |-' },
      { kind: 'removed', text: '-- a removed line, not a header' },
    ]);
    expect(diffCounts(lines)).toEqual({ added: 1, removed: 2 });
  });
});

describe('the deploy form of a published app', () => {
  const web = image({
    inputs: [
      { name: 'greeting', type: 'string', description: 'Shown on the page' },
      { name: 'db_host', type: 'hostname' },
      { name: 'admin_password', type: 'password' },
      { name: 'size', type: 'enum', options: ['s', 'm'], default: 's' },
    ],
  });
  const db = image({ outputs: [{ name: 'host' }] });

  it('runs an image alone as one node named after its path, as the box does', () => {
    expect(deployedNodes('/demo/Web_Server', 3, web).nodes).toEqual([
      {
        name: 'web-server',
        image: '/demo/Web_Server@3',
        multiplicity: 1,
        cloud: null,
        maxFailures: 0,
        mappings: {},
      },
    ]);
    expect(deployedNodes('/demo', 1, { kind: 'project' }).nodes).toEqual([]);
  });

  it('offers every input not wired to an output, with its value, and makes typed fields of those asked', () => {
    const content = deployment([
      {
        image: '/demo/web',
        mappings: { greeting: { value: 'Hi' }, db_host: { output: 'db:host' } },
      },
      { name: 'db', image: '/demo/db' },
    ]);
    const candidates = formCandidates(
      content,
      resolveNodes(content, loaded({ '/demo/web': web, '/demo/db': db })),
    );
    expect(candidates.map((candidate) => [candidate.key, candidate.current])).toEqual([
      ['web:greeting', 'Hi'],
      ['web:admin_password', undefined],
      ['web:size', 's'],
    ]);
    expect(
      formFields(candidates, {
        'web:greeting': 'Your greeting',
        'web:admin_password': '',
        'web:size': 'Size',
      }),
    ).toEqual([
      {
        key: 'web:greeting',
        label: 'Your greeting',
        type: 'string',
        help: 'Shown on the page',
        default: 'Hi',
        required: false,
        generate: false,
        sets: 'input',
      },
      {
        key: 'web:admin_password',
        label: 'Admin password',
        type: 'password',
        required: true,
        generate: true,
        sets: 'input',
      },
      {
        key: 'web:size',
        label: 'Size',
        type: 'enum',
        default: 's',
        options: ['s', 'm'],
        required: false,
        generate: false,
        sets: 'input',
      },
    ]);
    expect(labelFor('dbHost')).toBe('Db host');
    // The rule the box checks a publish with: an input without a value must be asked.
    expect(unaskedInputs(candidates, [])).toEqual(['web:admin_password']);
    expect(unaskedInputs(candidates, ['web:greeting'])).toEqual(['web:admin_password']);
    expect(unaskedInputs(candidates, ['web:admin_password'])).toEqual([]);
  });
});

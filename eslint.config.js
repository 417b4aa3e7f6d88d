// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'node:*',
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'crypto',
];

const uiAndShell = ['electron', 'react', 'react-dom', '**/renderer/**', '**/electron/**'];

/**
 * The appliance's folders and the folders each may import, lowest first (VS Code's layering
 * rule): an import of any other folder is an error, however many `../` it takes. Every folder
 * may import the shared files at the top of appliance/src (errors, ids, paths, secrets, version);
 * none imports the composition (app.ts, server.ts, config.ts and their parts, app-*.ts and
 * server-*.ts), the UI or the desktop shell.
 */
const applianceLayers = {
  domain: [],
  store: ['domain'],
  host: ['domain', 'store'],
  connectors: ['domain', 'store', 'host'],
  library: ['domain', 'store'],
  orchestrator: ['domain', 'store', 'host', 'connectors', 'library'],
  catalog: ['domain', 'store', 'host', 'connectors', 'library', 'orchestrator'],
  api: ['domain', 'store', 'host', 'connectors', 'library', 'orchestrator', 'catalog'],
  cli: ['domain', 'store', 'api'],
  guest: [],
};
const folders = Object.keys(applianceLayers);
/** The composition at the top of appliance/src, reached from a folder by `../` (one or more). */
const composition = String.raw`^(\.\./)+((app|server)(-[a-z-]+)?|config)\.ts$`;

/** Imports a folder of appliance/src may not make, as no-restricted-imports patterns. */
function forbiddenFor(folder) {
  return folders
    .filter((other) => other !== folder && !applianceLayers[folder].includes(other))
    .map((other) => `**/${other}/**`);
}

/**
 * The API contract, which the renderer and the CLI import: pure, on domain/ alone. `siblings`
 * says which other files of api/ its `files` may import.
 */
function contractLayer(files, siblings) {
  return {
    files,
    message: 'the API contract is pure: it may import domain/ and zod only',
    regex: composition,
    patterns: [...forbiddenFor('domain'), '**/auth/**', '**/routes/**', ...siblings, ...uiAndShell],
  };
}

/**
 * The layering rule (STYLE.md). Later entries win for files they share with earlier ones, so a
 * narrower layer comes last and repeats what it inherits.
 */
const layers = [
  {
    files: ['appliance/**/*.ts'],
    message: 'the appliance knows nothing of the UI or the desktop shell',
    patterns: uiAndShell,
  },
  ...folders.map((folder) => ({
    files: [`appliance/src/${folder}/**/*.ts`],
    message: `${folder}/ may import ${applianceLayers[folder].join(', ') || 'no other folder'} (the layer table in eslint.config.js)`,
    regex: composition,
    patterns: [
      ...forbiddenFor(folder),
      ...uiAndShell,
      ...(folder === 'domain'
        ? [
            ...nodeBuiltins,
            'lowdb',
            'lowdb/*',
            'fastify',
            '@fastify/*',
            '@unraid/libvirt',
            'systeminformation',
            'pino',
          ]
        : []),
    ],
  })),
  // The route table and the schemas, split by resource into contract/ and schemas/ beside them.
  contractLayer(
    ['appliance/src/api/contract.ts', 'appliance/src/api/schemas.ts'],
    ['./*', '!./schemas.ts', '!./contract', '!./schemas'],
  ),
  // Their parts: of the rest of api/, only the schemas' index (`../..`, the rest of appliance/src,
  // is judged by the patterns before).
  contractLayer(
    ['appliance/src/api/contract/**/*.ts', 'appliance/src/api/schemas/**/*.ts'],
    ['../*', '!../schemas.ts', '!../..'],
  ),
  {
    files: ['renderer/src/**/*.{ts,tsx}'],
    message:
      'the renderer talks to the appliance over HTTP only; it may import the pure API contract and domain types',
    patterns: [
      ...nodeBuiltins,
      'electron',
      'fastify',
      'lowdb',
      ...folders
        .filter((folder) => folder !== 'domain' && folder !== 'api')
        .map((folder) => `**/appliance/src/${folder}/**`),
      '**/appliance/src/api/**',
      '!**/appliance/src/api/contract.ts',
      '!**/appliance/src/api/schemas.ts',
      '**/appliance/src/*.ts',
      '**/appliance/src/errors/**',
      '**/electron/**',
    ],
  },
  {
    files: ['electron/**/*.ts'],
    message:
      'electron/ is a thin shell: it starts the appliance as a process and loads the renderer by URL',
    patterns: ['**/appliance/**', '**/renderer/**', 'react', 'fastify', 'lowdb'],
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-electron/',
      'reports/',
      'test-results/',
      'playwright-report/',
      '.data/',
      '.bench-tmp/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    files: ['renderer/src/**/*.{ts,tsx}', 'electron/preload/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Above connectors/, no kind of cloud is known: a node's image for its cloud comes from
  // Clouds.nativeImage, never from `nativeImages.libvirt`.
  {
    files: ['appliance/src/{orchestrator,catalog,library,api}/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        {
          selector:
            "MemberExpression[object.type='MemberExpression'][object.property.name='nativeImages']",
          message:
            'Only connectors/ knows kinds of cloud: ask Clouds.nativeImage (or Runs.nativeImage) for the image a node boots from on its cloud.',
        },
      ],
    },
  },
  // Tools that load a file's default export: configs, and Playwright's global setup.
  {
    files: [
      '*.config.ts',
      'eslint.config.js',
      'renderer/vite.config.ts',
      'test/e2e/global-setup.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  ...layers.map((layer) => ({
    files: layer.files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: layer.patterns, message: layer.message },
            ...(layer.regex ? [{ regex: layer.regex, message: layer.message }] : []),
          ],
        },
      ],
    },
  })),
);

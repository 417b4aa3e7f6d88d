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
 * The layering rule (STYLE.md): which folder may import which. Later entries win for files they
 * share with earlier ones, so a narrower layer comes last and repeats what it inherits.
 */
const layers = [
  {
    files: ['appliance/**/*.ts'],
    message: 'the appliance knows nothing of the UI or the desktop shell',
    patterns: uiAndShell,
  },
  {
    files: ['appliance/src/domain/**/*.ts'],
    message: 'domain/ is pure: no I/O, no platform, no other appliance layer',
    patterns: [
      ...nodeBuiltins,
      'lowdb',
      'lowdb/*',
      'fastify',
      '@fastify/*',
      '@unraid/libvirt',
      'systeminformation',
      'pino',
      '../store/*',
      '../api/*',
      '../connectors/*',
      '../orchestrator/*',
      '../host/*',
      '../catalog/*',
      '../cli/*',
      ...uiAndShell,
    ],
  },
  {
    files: ['renderer/src/**/*.{ts,tsx}'],
    message:
      'the renderer talks to the appliance over HTTP only; it may import the pure API contract and domain types',
    patterns: [
      ...nodeBuiltins,
      'electron',
      'fastify',
      'lowdb',
      '**/appliance/src/store/**',
      '**/appliance/src/host/**',
      '**/appliance/src/catalog/**',
      '**/appliance/src/connectors/**',
      '**/appliance/src/orchestrator/**',
      '**/appliance/src/api/auth/**',
      '**/appliance/src/api/routes/**',
      '**/appliance/src/app.ts',
      '**/appliance/src/server.ts',
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
        { patterns: [{ group: layer.patterns, message: layer.message }] },
      ],
    },
  })),
);

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layers import downwards only: core ← scanners/integrity/data/audit/store ← registry ← report ← server/client ← cli.
 * The registry's domain (src/registry) never reaches HTTP (src/server) or the clients (src/client); storage
 * (src/store) knows nothing of the domain; the server and the clients never import each other.
 */
const layer = (files, forbidden) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: forbidden.map((dir) => ({ group: [`**/${dir}/**`, `../${dir}/*`, `../../${dir}/*`], message: `this layer must not import from src/${dir}` })) }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/.tmp/**', 'bench/.work/**', 'examples/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'named exports only' }, { selector: 'TSEnumDeclaration', message: 'use `as const` objects instead of enums' }],
    },
  },
  { files: ['eslint.config.js'], rules: { 'no-restricted-syntax': 'off' } },
  // The console's browser scripts: plain ES2017 run by the browser, served as static files.
  { files: ['src/console/static/**/*.js'], languageOptions: { sourceType: 'script', globals: { window: 'readonly', document: 'readonly', atob: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly' } }, rules: { 'no-restricted-syntax': 'off' } },
  layer(['src/console/**'], ['cli', 'client', 'report']),
  layer(['src/core/**'], ['scanners', 'integrity', 'data', 'registry', 'audit', 'store', 'report', 'cli', 'server', 'client']),
  layer(['src/scanners/**', 'src/integrity/**'], ['report', 'cli', 'server', 'registry', 'store', 'client']),
  layer(['src/data/**'], ['scanners', 'report', 'cli', 'server', 'registry', 'audit', 'store', 'client']),
  layer(['src/audit/**'], ['report', 'cli', 'server', 'registry', 'store', 'client', 'scanners']),
  layer(['src/store/**'], ['report', 'cli', 'server', 'registry', 'client', 'scanners', 'integrity']),
  layer(['src/registry/**'], ['report', 'cli', 'server', 'client']),
  layer(['src/server/**'], ['report', 'cli', 'client']),
  layer(['src/client/**'], ['report', 'cli', 'server', 'store']),
  layer(['src/report/**'], ['cli', 'server', 'client']),
);

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers import downwards only: core ← scanners/integrity/audit/store ← report ← cli/server. */
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
  layer(['src/core/**'], ['scanners', 'integrity', 'registry', 'audit', 'store', 'report', 'cli', 'server']),
  layer(['src/scanners/**', 'src/integrity/**'], ['report', 'cli', 'server', 'registry']),
  layer(['src/data/**'], ['scanners', 'report', 'cli', 'server', 'registry', 'audit', 'store']),
  layer(['src/report/**'], ['cli', 'server']),
);

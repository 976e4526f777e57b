// ESLint (flat config) with typescript-eslint for the facade, tests, scripts, benchmarks, examples and
// the explorer; formatting is prettier's job. AssemblyScript (assembly/, bench/assembly/) is checked by asc instead.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'assembly/',
      'bench/assembly/',
      'dist/',
      'build/',
      'web-dist/',
      'test-output/',
      'demo-output/',
      'src/generated/',
      'node_modules/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
);

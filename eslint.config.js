// ESLint (flat config): typescript-eslint's recommended rules on src/, test/ and bench/;
// formatting is Prettier's (.prettierrc), checked beside it by `npm run lint` and by npm test.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'bench/results/', 'asterisk/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        Buffer: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        Response: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // tests and the fake servers read loosely typed JSON
      '@typescript-eslint/no-explicit-any': 'off',
      // process.env is read in config.ts only
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read settings in src/daemon/config.ts' }],
    },
  },
  { files: ['test/**', 'bench/**', 'asterisk/**', 'src/daemon/config.ts', 'eslint.config.js'], rules: { 'no-restricted-properties': 'off' } },
);

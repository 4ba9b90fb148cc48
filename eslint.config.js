// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/dist-device/**',
      '**/.bench-tmp/**',
      '**/node_modules/**',
      'firmware-bundles/out/**',
      'coverage/**',
      '.data/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: [
            'eslint.config.js',
            'simulator/src/fleet/worker-entry.mjs',
            'simulator/src/fleet/plain-names.mjs',
            'simulator/src/fleet/plain-names-hooks.mjs',
            'packages/agent/scripts/build-device.mjs',
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // A package is reached only through its public entry point.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@otafleet/*/src/*', '**/packages/*/src/*'],
              message: 'Import the package by name, not its internals.',
            },
          ],
        },
      ],
    },
  },
  {
    // CLIs, benchmarks, scripts and tests may print to the terminal.
    files: ['**/test/**', '**/bench/**', '**/scripts/**', '**/src/cli/**', '**/src/cli.ts', 'firmware-bundles/**'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // CommonJS, for the packages that require() it (packages/quiet-debug).
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Package launchers (plain ESM run by node).
    files: ['**/bin/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);

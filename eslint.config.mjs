// Lint for the whole monorepo. Type-aware rules catch floating promises (kafkajs, MongoDB and
// grpc-js all return promises that are easy to drop); tests may not commit `.only`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import jest from 'eslint-plugin-jest';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/generated/**',
      '.infra/**',
      '**/.next/**',
      'storefront/next-env.d.ts',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/test/**/*.ts'],
    plugins: { jest },
    rules: {
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'warn',
      'jest/expect-expect': 'off',
      '@typescript-eslint/unbound-method': 'off',
      // Test handlers often satisfy an async interface without awaiting anything.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: [
      'infra/src/cli.ts',
      '**/src/*-cli.ts',
      '**/src/cli.ts',
      'bench/**/*.ts',
      'scripts/**/*.ts',
    ],
    rules: { 'no-console': 'off' },
  },
);

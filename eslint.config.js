// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

const boundary = (/** @type {string[]} */ forbidden) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: forbidden.map((group) => ({
        group: [group, `${group}/*`],
        message: 'Package boundary: core <- gateway, core <- worker; never gateway <-> worker.',
      })),
    },
  ],
})

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['packages/core/**/*.ts'],
    rules: boundary([
      '@c7auth/gateway',
      '@c7auth/worker',
      '@c7auth/testkit',
      'express',
      'koa',
      'passport*',
    ]),
  },
  {
    files: ['packages/gateway/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: boundary(['@c7auth/worker', '@c7auth/testkit', '../../worker/**', '../../testkit/**']),
  },
  {
    files: ['packages/worker/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: boundary(['@c7auth/gateway', '@c7auth/testkit', '../../gateway/**', '../../testkit/**']),
  },
  {
    files: ['packages/gateway/src/**/*.test.ts'],
    rules: boundary(['@c7auth/worker']),
  },
  {
    files: ['packages/worker/src/**/*.test.ts'],
    rules: boundary(['@c7auth/gateway']),
  },
)

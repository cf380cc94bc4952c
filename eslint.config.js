// ESLint 10 flat config with typescript-eslint, run in `npm test` (test/lint/layers.test.ts).
// Untyped recommended rules everywhere; of the typed rules only the few that find real bugs in
// async server code (a promise nobody awaits or catches), since type information costs a full
// TypeScript program per run.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.bench/', '.cache/', 'src/ui/', 'openapi/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap tracks the promise of every t.test itself (a subtest that fails fails its parent), so
      // top-level and nested t.test calls need no await; any other promise still must be handled.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'todo', 'skip', 'only'], package: '@tapjs/test' }],
      }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      // `_name` marks a parameter a signature requires but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The simulator and the tests handle arbitrary Kubernetes JSON by path (any object the API
    // could hold, patched by JSON/merge/strategic-merge rules): typing each access would restate
    // the API's schema by hand. Product code outside src/sim keeps the rule.
    files: ['src/sim/**/*.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // CommonJS config files (dependency-cruiser's) run under Node's require.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly' } },
  },
)

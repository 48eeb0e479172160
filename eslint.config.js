// ESLint (typescript-eslint, type-aware) for src/, test/, scripts/, bench/ and packages/;
// the plain JavaScript (bin/, console/, packages/*/build.mjs) without type information.
// `npm run lint`. Formatting is Prettier's job (`npm run format:check`), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Module-level mutable state: one Junction owns its state (docs/architecture.md),
// so a module may not hold any at the top level. What this catches: top-level
// `let`/`var`, top-level Map/Set/WeakMap/WeakSet (unless typed Readonly*), and
// empty top-level array/object literals (things meant to be filled), and static
// class fields that are not readonly. What it cannot see: a top-level object
// whose properties are assigned later, or a readonly container mutated through
// a cast. Those are left to review; together with the layer check, this keeps
// the common forms out.
const TOP = ['Program >', 'Program > ExportNamedDeclaration >'];
export const moduleState = TOP.flatMap((top) => [
  {
    selector: `${top} VariableDeclaration[kind=/^(let|var)$/]`,
    message: 'No module-level mutable state: make it a field of the instance that owns it.',
  },
  {
    selector: `${top} VariableDeclaration > VariableDeclarator:not([id.typeAnnotation.typeAnnotation.typeName.name=/^Readonly/]) > NewExpression.init[callee.name=/^(Map|Set|WeakMap|WeakSet)$/]`,
    message:
      'No module-level mutable collections: make it a field of the instance that owns it (a constant lookup table: type it ReadonlyMap/ReadonlySet).',
  },
  {
    selector: `${top} VariableDeclaration > VariableDeclarator > :matches(ArrayExpression[elements.length=0], ObjectExpression[properties.length=0]).init`,
    message: 'No module-level mutable state: an empty top-level array/object is state to be filled.',
  },
]).concat([
  {
    selector: 'PropertyDefinition[static=true][readonly!=true]',
    message: 'No static mutable fields: state belongs to an instance.',
  },
]);

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', '.cache/', 'packages/*/dist/', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Unused names are errors, except the `_`-prefixed ones kept for a signature.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // A promise nobody awaits loses its rejection: say `void` when that is meant.
      '@typescript-eslint/no-floating-promises': 'error',
      // `async` is how a function promises never to throw synchronously (a throw becomes a
      // rejection the caller's .catch sees): an async function without await is deliberate here.
      '@typescript-eslint/require-await': 'off',
      // Rejections pass on what was caught (a JunctionError, or whatever a library threw),
      // including what lib types as `any`: an AbortSignal's reason, a .then rejection argument.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingUnknown: true, allowThrowingAny: true },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts'],
    rules: { 'no-restricted-syntax': ['error', ...moduleState] },
  },
  {
    // The CLI's launcher and the SDK's build script: plain JavaScript run by Node, not part of
    // the TypeScript project.
    files: ['bin/**/*.js', 'packages/*/build.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly' },
      parserOptions: { project: false, projectService: false },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    // The console (Preact + htm, bundled by esbuild): browser JavaScript, not part of the
    // TypeScript project. ESLint's `globals` package is not a dependency, so the few browser
    // globals it uses are listed here.
    files: ['console/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'document',
          'location',
          'sessionStorage',
          'fetch',
          'URLSearchParams',
          'getComputedStyle',
          'addEventListener',
          'removeEventListener',
          'setInterval',
          'clearInterval',
          'setTimeout',
          'clearTimeout',
        ].map((g) => [g, 'readonly']),
      ),
      parserOptions: { project: false, projectService: false },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules },
  },
  {
    // Tests, scripts and benchmarks print and poke at internals: they read JSON replies as
    // `any` and assert on them, so the no-unsafe-* family and explicit `any` are allowed
    // there (and only there: src/ stays typed).
    files: ['test/**/*.ts', 'src/**/*.test.ts', 'packages/*/test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);

// ESLint for the whole repository: typescript-eslint's recommended rules (syntax only, no type
// information, so `npm run lint` stays a few seconds), React's hook rules for the console, and the
// layer table of packages/server/src (docs/architecture.md) as an import-boundary rule.
// The plugins come from the tools/lint workspace; docs/decisions.md ("Lint") says why.
import { boundaries, globals, js, reactHooks, tseslint } from '@latchkey/lint-toolchain';

const SRC = 'packages/server/src';

/**
 * Which folder of packages/server/src may import which (docs/architecture.md). Top may import lower,
 * never the other way; a folder may always import its own files. Type-only imports count too.
 * `root` is the composition root: the files directly in src/ (runtime.ts, app.ts, boot.ts, server.ts,
 * index.ts) and the CLI entry points.
 */
const LAYERS = {
  root: ['cli', 'http', 'environment-api', 'oauth', 'platform', 'keys', 'storage', 'support', 'config'],
  cli: ['root', 'http', 'environment-api', 'oauth', 'platform', 'keys', 'storage', 'support', 'config'],
  http: ['environment-api', 'oauth', 'platform', 'keys', 'support', 'config'],
  'environment-api': ['platform', 'keys', 'storage', 'support', 'config'],
  oauth: ['platform', 'keys', 'storage', 'support', 'config'],
  platform: ['keys', 'storage', 'support', 'config'],
  keys: ['storage', 'support', 'config'],
  storage: ['support', 'config'],
  config: ['support'],
  support: [],
};

/**
 * Back-edges that exist today and that other branches of issue 15 are removing. Each entry lets one
 * file import one file; the lead deletes an entry once the branch that removes the edge is merged.
 * A new back-edge is not added here: fix the import (docs/architecture.md, "Adding a module").
 */
const KNOWN_BACK_EDGES = [
  // Paths are relative to packages/server/src, e.g.
  // { file: 'keys/signing-keys.ts', imports: 'platform/audit.ts', removedBy: 'store (point 1)' },
  // Empty since the storage, token and root branches of issue 15 were merged.
];

/** The console's one import of server sources; the shared wire-types module replaces it. */
const KNOWN_PACKAGE_EDGES = [
  { file: 'packages/console/src/wire.ts', imports: 'packages/server/src/http/routes/platform/schemas.ts', removedBy: 'edges (point 6: shared wire types)' },
];

/** Element types of the boundary rule: one per layer folder, then the composition root. */
const serverElements = [
  ...Object.keys(LAYERS)
    .filter((layer) => layer !== 'root')
    .map((layer) => ({ type: layer, pattern: `${SRC}/${layer}`, partialMatch: false })),
  // A folder of src/ that is in no layer yet: it may import nothing and nothing may import it,
  // so lint fails until the table above places it.
  { type: 'unplaced', pattern: `${SRC}/*`, partialMatch: false },
  { type: 'root', pattern: SRC, partialMatch: false },
];

const boundaryPolicies = [
  ...Object.entries(LAYERS).map(([layer, allowed]) => ({
    from: { element: { type: layer } },
    allow: { to: { element: { types: { anyOf: [layer, ...allowed] } } } },
  })),
  { from: { element: { type: 'unplaced' } }, allow: { to: { element: { type: 'unplaced' } } } },
  // The other packages are clients of the server's wire, never of its sources.
  ...['console', 'client', 'resource'].map((pkg) => ({
    from: { element: { type: pkg } },
    allow: { to: { element: { type: pkg } } },
  })),
  ...KNOWN_BACK_EDGES.map(({ file, imports }) => ({ file: `${SRC}/${file}`, imports: `${SRC}/${imports}` }))
    .concat(KNOWN_PACKAGE_EDGES)
    .map(({ file, imports }) => ({ from: { file: { path: file } }, allow: { to: { file: { path: imports } } } })),
];

export default tseslint.config(
  {
    // test/fixtures holds sample files that users wrote (inputs to the seed importer), not our code.
    ignores: ['**/node_modules/**', '**/dist/**', 'packages/console/public/**', 'docs/**', '**/*.d.ts', 'test/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (a required parameter position, a skipped tuple slot).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['packages/console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['packages/*/src/**/*.{ts,tsx,js}'],
    plugins: { boundaries },
    settings: {
      'boundaries/elements': [
        ...serverElements,
        { type: 'console', pattern: 'packages/console', partialMatch: false },
        { type: 'client', pattern: 'packages/client', partialMatch: false },
        { type: 'resource', pattern: 'packages/resource', partialMatch: false },
      ],
      'boundaries/include': ['packages/*/src/**/*'],
    },
    rules: {
      'boundaries/dependencies': ['error', { default: 'disallow', policies: boundaryPolicies }],
    },
  },
  {
    // Express types its request in a global namespace; declaration merging into it is the only way
    // middleware (packages/resource/src/express.ts) can add a typed field.
    files: ['packages/resource/src/express.ts'],
    rules: { '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }] },
  },
  {
    // Kysely's own signatures take `Kysely<any>`: migrations run against a schema that changes under
    // them (Kysely's documented pattern), a dialect's introspector gets whatever database it is given,
    // and the multi-row insert is generic over the query's output row.
    files: [
      'packages/server/src/storage/migrations.ts',
      'packages/server/src/storage/multi-row-insert.ts',
      'packages/server/src/storage/sqlite-thread-dialect.ts',
    ],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests and the fault script read JSON bodies of every shape; typing each would add nothing the
    // exact assertions on them do not already check.
    files: ['**/*.test.ts', '**/*.test.tsx', 'test/support/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Tests may reach across layers to build what they exercise.
    files: ['**/*.test.ts', '**/*.test.tsx'],
    rules: { 'boundaries/dependencies': 'off' },
  },
);

export { KNOWN_BACK_EDGES, KNOWN_PACKAGE_EDGES, LAYERS };

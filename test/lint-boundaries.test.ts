import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- the config is plain JavaScript without type declarations
import { KNOWN_BACK_EDGES, KNOWN_PACKAGE_EDGES } from '../eslint.config.js';

// The layer rule of eslint.config.js (docs/architecture.md), driven through ESLint's Node API with
// the repository's real config: source text is linted as if it lived at the given path, so each case
// shows what `npm run lint` would say about such a file.
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: repoRoot });
});

/** The boundary findings for `code` placed at `filePath` (relative to the repository root). */
async function boundaryFindings(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'boundaries/dependencies').map((m) => m.message);
}

describe('the import-boundary rule', () => {
  it('refuses a lower layer importing a higher one, also for a type-only import', async () => {
    const findings = await boundaryFindings(
      'packages/server/src/storage/lint-fixture.ts',
      "import type { ProblemBody } from '../http/json-body-parser.ts';\nexport type Body = ProblemBody;\n",
    );
    expect(findings).toEqual([expect.stringContaining('"storage" to elements of type "http"')]);
  });

  it('refuses environment-api importing http (the cycle stays broken)', async () => {
    const findings = await boundaryFindings(
      'packages/server/src/environment-api/lint-fixture.ts',
      "export { createInjectFetch } from '../http/platform-auth.ts';\n",
    );
    expect(findings).toEqual([expect.stringContaining('"environment-api" to elements of type "http"')]);
  });

  it('refuses keys importing platform, and a same-level folder importing its sibling', async () => {
    const keys = await boundaryFindings('packages/server/src/keys/lint-fixture.ts', "import { recordAudit } from '../platform/audit.ts';\nvoid recordAudit;\n");
    expect(keys).toEqual([expect.stringContaining('"keys" to elements of type "platform"')]);
    const oauth = await boundaryFindings('packages/server/src/oauth/lint-fixture.ts', "await import('../environment-api/asset-kinds.ts');\n");
    expect(oauth).toEqual([expect.stringContaining('"oauth" to elements of type "environment-api"')]);
  });

  it('lets a folder import the layers below it and its own files', async () => {
    const findings = await boundaryFindings(
      'packages/server/src/http/lint-fixture.ts',
      [
        "import { PlatformError } from '../platform/errors.ts';",
        "import { ProblemSchema } from '../support/problem.ts';",
        "import type { OAuthError } from '../oauth/errors.ts';",
        "import { problem } from './json-body-parser.ts';",
        'export type Both = [PlatformError, OAuthError, typeof ProblemSchema, typeof problem];',
        '',
      ].join('\n'),
    );
    expect(findings).toEqual([]);
  });

  // Both allowlists, as repository-relative paths (the server's list is relative to its src/).
  const allowed = [
    ...(KNOWN_BACK_EDGES as { file: string; imports: string }[]).map(({ file, imports }) => ({
      file: `packages/server/src/${file}`,
      imports: `packages/server/src/${imports}`,
    })),
    ...(KNOWN_PACKAGE_EDGES as { file: string; imports: string }[]),
  ];
  it.skipIf(allowed.length === 0)('lets each listed back-edge through for the listed file only', async () => {
    for (const { file, imports } of allowed) {
      const relative = path.posix.relative(path.posix.dirname(file), imports);
      const code = `export * as target from '${relative.startsWith('.') ? relative : `./${relative}`}';\n`;
      expect(await boundaryFindings(file, code), `${file} -> ${imports}`).toEqual([]);
      // The same import from another file of the same folder is refused.
      const sibling = path.posix.join(path.posix.dirname(file), 'lint-fixture.ts');
      expect(await boundaryFindings(sibling, code), `${sibling} -> ${imports}`).toHaveLength(1);
    }
  });

  it('refuses a folder of src/ that the layer table does not place', async () => {
    const findings = await boundaryFindings('packages/server/src/unplaced-fixture/thing.ts', "import { systemClock } from '../support/clock.ts';\nvoid systemClock;\n");
    expect(findings).toEqual([expect.stringContaining('"unplaced" to elements of type "support"')]);
  });

  it('refuses the console, the client and the resource library importing server sources', async () => {
    const source = (from: string) => `import type { Runtime } from '${from}/server/src/runtime.ts';\nexport type R = Runtime;\n`;
    for (const pkg of ['console', 'client', 'resource']) {
      const findings = await boundaryFindings(`packages/${pkg}/src/lint-fixture.ts`, source('../..'));
      expect(findings, pkg).toEqual([expect.stringContaining(`"${pkg}" to elements of type "root"`)]);
    }
  });

  it('lets tests reach across layers', async () => {
    const findings = await boundaryFindings('packages/server/src/storage/lint-fixture.test.ts', "import { problem } from '../http/json-body-parser.ts';\nvoid problem;\n");
    expect(findings).toEqual([]);
  });
});

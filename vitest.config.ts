import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests import the workspace packages (@latchkey/resource, @latchkey/client) from their TypeScript
// sources through the `@latchkey/source` export condition (see their package.json), so a test never
// runs a stale dist/; a child process a test starts (the `latchkey` CLI) runs the compiled output.
const conditions = ['@latchkey/source', ...defaultServerConditions];

// One runner for every package. Suites talk to real SQLite files, a real PostgreSQL server and real
// HTTP on loopback, so they get generous timeouts and run in forked processes (better-sqlite3 is native).
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});

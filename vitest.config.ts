import { defineConfig } from 'vitest/config';

// One runner for every package. Suites talk to real SQLite files, a real PostgreSQL server and real
// HTTP on loopback, so they get generous timeouts and run in forked processes (better-sqlite3 is native).
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});

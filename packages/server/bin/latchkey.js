#!/usr/bin/env node
// The `latchkey` command. It runs the server's compiled and bundled JavaScript (dist/bundle/, built
// by `npm run build`, which `npm ci` runs through `prepare`); development and tests use the
// TypeScript sources.
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

// A larger young generation (V8's default semi-space is 16 MiB) lets the short-lived objects of
// each token request die young instead of being promoted and collected in old-space pauses: on the
// cached-token path that cut p99 latency about fivefold and raised throughput about 10%
// (docs/benchmarks.md). An explicit --max-semi-space-size on the command line still wins.
if (!process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size'))) v8.setFlagsFromString('--max-semi-space-size=64');

const main = new URL('../dist/bundle/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('latchkey: the server is not built (no packages/server/dist); run `npm run build` (npm ci does it too)\n');
  process.exit(1);
}
await import(main.href);

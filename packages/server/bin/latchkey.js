#!/usr/bin/env node
// The `latchkey` command. The server runs from its TypeScript sources through tsx's loader (no build
// step to forget; see docs/decisions.md).
import v8 from 'node:v8';
import { register } from 'tsx/esm/api';

// A larger young generation (V8's default semi-space is 16 MiB) lets the short-lived objects of
// each token request die young instead of being promoted and collected in old-space pauses: on the
// cached-token path that cut p99 latency about fivefold and raised throughput about 10%
// (docs/benchmarks.md). An explicit --max-semi-space-size on the command line still wins.
if (!process.execArgv.some((flag) => flag.startsWith('--max-semi-space-size'))) v8.setFlagsFromString('--max-semi-space-size=64');

register();
await import('../src/cli/main.ts');

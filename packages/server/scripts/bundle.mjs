// Bundles the compiled server (dist/, from tsc) into dist/bundle/: the `latchkey` command's entry and
// the two worker-thread entries, with their shared code split into chunks. Loading ~1,000 module
// files one by one (resolve, stat, read, compile for each) was most of the server's start-up time;
// one bundle is read in a few large pieces (docs/decisions.md, "esbuild bundles the server").
//
// Kept outside the bundle: native and optional drivers (better-sqlite3, pg, ioredis), loaded from
// node_modules as before, and the two packages that find their own files through __dirname
// (@fastify/swagger reads its package.json, @fastify/swagger-ui serves its static directory).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}bundle`;

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: {
    main: `${dist}cli/main.js`,
    // Named as support/start-worker.ts looks for them: beside the code that starts them.
    'sqlite-worker': `${dist}storage/sqlite-worker.js`,
    'signing-worker': `${dist}keys/signing-worker.js`,
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Bundled CommonJS dependencies (Fastify, pino, …) call require() for Node's built-ins; an ES
  // module has no require, so each chunk gets one.
  banner: { js: "import { createRequire as __latchkeyCreateRequire } from 'node:module'; const require = __latchkeyCreateRequire(import.meta.url);" },
  external: ['better-sqlite3', 'pg', 'pg-native', 'ioredis', '@fastify/swagger', '@fastify/swagger-ui'],
  logLevel: 'warning',
  legalComments: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
});

// Bundles the compiled server (dist/, from tsc) into dist/bundle/: the `latchkey` command's entry and
// the two worker-thread entries, with their shared code split into chunks. Loading ~1,000 module
// files one by one (resolve, stat, read, compile for each) was most of the server's start-up time;
// one bundle is read in a few large pieces (docs/decisions.md, "esbuild bundles the server").
//
// Kept outside the bundle: native and optional drivers (better-sqlite3, pg, ioredis), loaded from
// node_modules as before. Two bundled packages find their own files through __dirname
// (@fastify/swagger reads its package.json, @fastify/swagger-ui serves its static directory); an ES
// module has no __dirname, so those files get one pointing at where they were bundled from.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}bundle`;

/** Gives bundled files that use __dirname the directory they came from, relative to the bundle. */
const ownDirname = {
  name: 'own-dirname',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/]@fastify[\\/]swagger(-ui)?[\\/].*\.js$/ }, async (args) => {
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('__dirname')) return undefined;
      const fromBundle = path.relative(outdir, path.dirname(args.path));
      return { contents: `var __dirname = __latchkeyResolve(__latchkeyBundleDir, ${JSON.stringify(fromBundle)});\n${contents}`, loader: 'js' };
    });
  },
};

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
  // module has no require, so each chunk gets one, and the directory it sits in for ownDirname.
  banner: {
    js: [
      "import { createRequire as __latchkeyCreateRequire } from 'node:module';",
      "import { dirname as __latchkeyDirname, resolve as __latchkeyResolve } from 'node:path';",
      "import { fileURLToPath as __latchkeyFileURLToPath } from 'node:url';",
      'const require = __latchkeyCreateRequire(import.meta.url);',
      'const __latchkeyBundleDir = __latchkeyDirname(__latchkeyFileURLToPath(import.meta.url));',
    ].join(' '),
  },
  // @fastify/cookie loads its own (nested) cookie module with import(): bundled, that CommonJS module
  // would come back as a namespace with only a default export, so @fastify/cookie stays outside.
  external: ['better-sqlite3', 'pg', 'pg-native', 'ioredis', '@fastify/cookie'],
  plugins: [ownDirname],
  logLevel: 'warning',
  legalComments: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
});

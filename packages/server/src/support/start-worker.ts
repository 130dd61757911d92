import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker-thread module `name` (no extension) that sits next to `besideUrl` (the caller's
 * `import.meta.url`), in the form the caller itself runs as: `.js` from the compiled output, `.ts`
 * from the sources.
 */
export function startWorker(name: string, besideUrl: string, options: WorkerOptions = {}): Worker {
  // Compiled output (`npm start`, the `latchkey` command): the caller is a .js file in dist/, and so
  // is the worker's module next to it; Node loads it as it is.
  // Sources (vitest, tsx in development and in benchmarks): the caller is a .ts file, and a worker
  // thread does not get the loader its parent runs under (Node 20 applies neither the parent's hooks
  // nor `--import tsx` in the worker's execArgv), so the thread registers tsx itself before importing
  // its module. tsx is a devDependency; the compiled path never loads it.
  const fromSources = new URL(besideUrl).pathname.endsWith('.ts');
  const url = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, besideUrl);
  if (!fromSources) return new Worker(url, options);
  const boot = `import(${JSON.stringify(tsxRegisterUrl(besideUrl))}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/** The URL of tsx's ESM `register` API (`tsx/esm/api`, import condition), found from `besideUrl`. */
function tsxRegisterUrl(besideUrl: string): string {
  // An eval'd worker is CommonJS, and require() would pick the API's CommonJS build, whose loader
  // path is wrong from there; vitest offers no import.meta.resolve. So: tsx's own exports map.
  const manifest = createRequire(besideUrl).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifest), exports['./esm/api']!.import.default)).href;
}

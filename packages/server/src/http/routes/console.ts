import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendRouteNotFound } from '../../support/problem.ts';
import { serverPackageRoot } from '../../support/package-root.ts';

/** Where `npm run build -w packages/console` writes the console. */
export const CONSOLE_DIST = path.join(serverPackageRoot(), '..', 'console', 'dist') + path.sep;

/**
 * The console's Content-Security-Policy: everything from this origin, nothing inline, no framing.
 * Vite emits external script and style files, so the console needs no exception.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

// Vite names every built asset after its content hash: such a URL never changes meaning.
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html and un-hashed files (favicon): always revalidate, so a new build is picked up at once.
const REVALIDATE = 'no-cache';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest']);

// Paths that belong to the APIs and docs: never answered with the console's index.html.
const NOT_CONSOLE = /^\/(?:api|oauth|\.well-known|docs|healthz|readyz|metrics)(?:\/|$)/;

interface CachedFile {
  mtimeMs: number;
  size: number;
  body: Buffer;
  etag: string;
  gzip?: Buffer;
  br?: Buffer;
}

/** Options of the console plugin. */
export interface ConsoleRoutesOptions {
  /** The built console; defaults to packages/console/dist. Tests point it elsewhere. */
  distDir?: string;
}

/**
 * Serves the built web console at `/`: hashed assets under /assets with a year of immutable caching,
 * index.html with no-cache (and for every other console path, so deep links load the app), all with
 * a strict CSP. Only regular files inside the dist directory are served, resolved after symlinks,
 * so no path can reach outside it. Without a build, `/` explains how to make one.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): Promise<void> {
  const root = path.resolve(options.distDir ?? CONSOLE_DIST);
  const cache = new Map<string, CachedFile>();

  /** The real path of `relative` inside the dist directory if it is a regular file there, else null. */
  const locate = async (relative: string): Promise<{ file: string; size: number; mtimeMs: number } | null> => {
    if (relative.includes('\0') || relative.split('/').some((segment) => segment === '..' || segment === '.')) return null;
    const candidate = path.resolve(root, relative);
    try {
      const [realRoot, realFile] = await Promise.all([realpath(root), realpath(candidate)]);
      if (!realFile.startsWith(realRoot + path.sep)) return null;
      const info = await stat(realFile);
      return info.isFile() ? { file: realFile, size: info.size, mtimeMs: info.mtimeMs } : null;
    } catch {
      return null;
    }
  };

  /** The file's bytes (and compressed forms, made once), re-read when the build changes it. */
  const load = async (found: { file: string; size: number; mtimeMs: number }): Promise<CachedFile> => {
    const cached = cache.get(found.file);
    if (cached && cached.mtimeMs === found.mtimeMs && cached.size === found.size) return cached;
    const body = await readFile(found.file);
    const entry: CachedFile = { mtimeMs: found.mtimeMs, size: found.size, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    if (COMPRESSIBLE.has(path.extname(found.file)) && body.length > 1024) {
      entry.gzip = gzipSync(body, { level: 9 });
      entry.br = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
    }
    cache.set(found.file, entry);
    return entry;
  };

  const send = async (request: FastifyRequest, reply: FastifyReply, found: { file: string; size: number; mtimeMs: number }, cacheControl: string): Promise<FastifyReply> => {
    const file = await load(found);
    reply.headers({ ...SECURITY_HEADERS, 'cache-control': cacheControl, etag: file.etag, vary: 'accept-encoding' });
    reply.type(TYPES[path.extname(found.file)] ?? 'application/octet-stream');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    const accepted = String(request.headers['accept-encoding'] ?? '');
    if (file.br && /\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(file.br);
    if (file.gzip && /\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(file.gzip);
    return reply.send(file.body);
  };

  const sendIndex = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const index = await locate('index.html');
    if (index) return send(request, reply, index, REVALIDATE);
    return reply
      .code(503)
      .headers({ ...SECURITY_HEADERS, 'cache-control': 'no-store' })
      .type('text/html; charset=utf-8')
      .send(notBuiltPage(root));
  };

  app.get('/', sendIndex);

  app.get('/*', async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (NOT_CONSOLE.test(urlPath)) return sendRouteNotFound(request, reply);
    let relative: string;
    try {
      relative = decodeURIComponent(urlPath).replace(/^\/+/, '');
    } catch {
      return sendRouteNotFound(request, reply);
    }
    if (relative.includes('\\')) return sendRouteNotFound(request, reply);
    const found = relative ? await locate(relative) : null;
    if (found) return send(request, reply, found, relative.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    // A missing hashed asset (an old build's file) is a 404, not the app: a script URL must never get HTML.
    if (relative.startsWith('assets/')) return sendRouteNotFound(request, reply);
    // Deep links (/environments/demo/…) load the app, which routes in the browser.
    if (String(request.headers.accept ?? '').includes('text/html')) return sendIndex(request, reply);
    return sendRouteNotFound(request, reply);
  });
}

function notBuiltPage(root: string): string {
  const escaped = root.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Latchkey: console not built</title></head>
<body>
<h1>The Latchkey console has not been built</h1>
<p>The server is running and its APIs work, but there is no console to serve: <code>${escaped}</code> has no <code>index.html</code>.</p>
<p>Build it from the repository root, then reload this page (no restart needed):</p>
<pre>npm run build -w packages/console</pre>
<p>(<code>npm ci</code> builds it too.) Meanwhile the API documentation is at <a href="/docs">/docs</a>.</p>
</body>
</html>
`;
}

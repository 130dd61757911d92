/**
 * An editor backend, the pattern Latchkey recommends (see README.md next to this file).
 *
 * It holds **one** all-permissions integration, allowed to mint browser tokens. Its credentials and
 * its own tokens never leave this process; it uses them for its own work (here: listing templates,
 * creating projects). The page gets something else: a short-lived, read-only **browser token**,
 * bound to a key the page keeps in WebCrypto (DPoP), obtained by exchanging the backend's token at
 * Latchkey (`POST /browser-token`, `browserTokenHandler`). Copied out of the page, that token is
 * useless.
 *
 * Plain `node:http` and `@latchkey/client`, nothing else; the page loads `@latchkey/client/browser`
 * as ES modules straight from the package's built files (no bundler). Run it with
 * `npx tsx examples/editor-backend/server.ts` (the variables are listed in `readSettings`).
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { browserTokenHandler, createAuthorizedFetch, TokenClient, TokenRequestError } from '@latchkey/client';

/** What the page may read with its browser token: the Environment API serves these two to browsers. */
export const BROWSER_SCOPES = ['media:read', 'fonts:read'];

/** Where the page finds `@latchkey/client/browser` (`<prefix>browser/index.js`). */
export const CLIENT_MODULES_PATH = '/latchkey-client/';

/** Credentials of one integration. */
export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** What the backend needs to run. */
export interface EditorBackendSettings {
  /** Latchkey's base URL (its issuer), e.g. http://localhost:8080. */
  latchkeyUrl: string;
  /** The environment the integration lives in. */
  environmentId: string;
  /** The one integration: all permissions, browser tokens allowed. Stays on the server. */
  credentials: Credentials;
  port?: number;
  host?: string;
}

/** A running backend. */
export interface EditorBackend {
  url: string;
  close(): Promise<void>;
}

const PAGE = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

const NO_STORE = { 'cache-control': 'no-store' };

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...NO_STORE, ...headers });
  response.end(JSON.stringify(body));
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RangeError('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object body, `{}` for an empty one, `null` for anything else (not JSON, not an object, too large). */
async function readJsonObject(request: http.IncomingMessage, limit = 16 * 1024): Promise<Record<string, unknown> | null> {
  try {
    const text = await readBody(request, limit);
    if (text.trim() === '') return {};
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The built ES modules of `@latchkey/client/browser`, by URL path: its entry and every module it
 * imports, found by following the relative imports from the entry. Only those are served; nothing
 * else of node_modules is reachable from the page.
 */
export function browserClientModules(): Map<string, Buffer> {
  // The package's directory, wherever it is installed; then its built files (a test runner may
  // resolve the package to its TypeScript sources, which a browser cannot load).
  const missing = 'the built @latchkey/client is missing: run npm ci (or npm run build) at the repository root';
  let directory: string;
  try {
    directory = path.dirname(createRequire(import.meta.url).resolve('@latchkey/client/browser'));
  } catch {
    throw new Error(missing);
  }
  while (!existsSync(path.join(directory, 'package.json')) && path.dirname(directory) !== directory) directory = path.dirname(directory);
  const root = path.join(directory, 'dist');
  const entry = path.join(root, 'browser', 'index.js');
  if (!existsSync(entry)) throw new Error(missing);
  const modules = new Map<string, Buffer>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    const relative = path.relative(root, file).split(path.sep).join('/');
    if (relative.startsWith('../') || modules.has(relative)) continue;
    const source = readFileSync(file);
    modules.set(relative, source);
    for (const match of source.toString('utf8').matchAll(/\b(?:from|import)\s*['"](\.{1,2}\/[^'"]+\.js)['"]/g)) {
      pending.push(path.resolve(path.dirname(file), match[1]!));
    }
  }
  return modules;
}

/**
 * Starts the backend.
 *
 * @example
 * const backend = await startEditorBackend({ latchkeyUrl, environmentId: 'demo', credentials, port: 3000 });
 */
export async function startEditorBackend(settings: EditorBackendSettings): Promise<EditorBackend> {
  const base = settings.latchkeyUrl.replace(/\/+$/, '');
  const tokenEndpoint = `${base}/oauth/token`;
  const environmentApi = `${base}/api/v1/environments/${encodeURIComponent(settings.environmentId)}`;
  const clientModules = browserClientModules();

  // The backend's one client: every permission the integration was granted, for its own requests.
  const tokens = new TokenClient({ tokenUrl: tokenEndpoint, ...settings.credentials });
  const backendApi = createAuthorizedFetch(tokens);
  // The page's tokens: exchanged from the backend's, read scopes only (Latchkey refuses anything
  // else), never more than BROWSER_SCOPES, bound to the page's key (a request without a DPoP proof
  // is refused here, before Latchkey is asked).
  const issueBrowserToken = browserTokenHandler(tokens, { scope: BROWSER_SCOPES });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://backend');
    if (request.method === 'GET' && url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...NO_STORE });
      response.end(PAGE);
      return;
    }

    if (request.method === 'GET' && url.pathname.startsWith(CLIENT_MODULES_PATH)) {
      const module = clientModules.get(url.pathname.slice(CLIENT_MODULES_PATH.length));
      if (module === undefined) {
        sendJson(response, 404, { detail: 'not found' });
        return;
      }
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
      response.end(module);
      return;
    }

    // Where the page finds Latchkey. The token endpoint is the URL the page's DPoP proof names.
    if (request.method === 'GET' && url.pathname === '/editor-config') {
      sendJson(response, 200, { environmentApi, tokenEndpoint });
      return;
    }

    // In a real application this route sits behind your own user authentication: whoever can call
    // it gets a browser token. Cross-site pages cannot call it: the DPoP header makes the request
    // need a CORS preflight, which this backend never allows.
    if (request.method === 'POST' && url.pathname === '/browser-token') {
      const body = await readJsonObject(request, 1024);
      if (body === null) {
        sendJson(response, 400, { error: 'invalid_request', error_description: 'the body must be empty or a JSON object' });
        return;
      }
      const { status, headers, body: answer } = await issueBrowserToken(request.headers.dpop, body.scope);
      sendJson(response, status, answer, headers);
      return;
    }

    if (request.method === 'GET' && url.pathname === '/api/templates') {
      const upstream = await backendApi(`${environmentApi}/templates?limit=200`);
      sendJson(response, upstream.status, await upstream.json());
      return;
    }

    if (request.method === 'POST' && url.pathname === '/api/projects') {
      // JSON only: a cross-site form cannot send it, which keeps this example free of CSRF tokens.
      if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
        sendJson(response, 415, { detail: 'send application/json' });
        return;
      }
      const body = await readJsonObject(request);
      if (body === null || typeof body.templateId !== 'string' || typeof body.name !== 'string') {
        sendJson(response, 400, { detail: 'templateId and name are required' });
        return;
      }
      // The write happens here, with the backend's own token, never in the browser.
      const upstream = await backendApi(`${environmentApi}/projects`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ templateId: body.templateId, name: body.name }),
      });
      sendJson(response, upstream.status, await upstream.json());
      return;
    }

    sendJson(response, 404, { detail: 'not found' });
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Token errors carry no secret (TokenClient redacts it); anything else stays in our log.
      const detail = error instanceof TokenRequestError ? error.message : 'the editor backend failed; see its log';
      if (!(error instanceof TokenRequestError)) console.error(error);
      if (!response.headersSent) sendJson(response, 502, { detail });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(settings.port ?? 3000, settings.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = settings.host ?? '127.0.0.1';
  return {
    // localhost, not 127.0.0.1: the origin the README tells Latchkey to allow, and a secure context
    // (WebCrypto) for the page.
    url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Settings from the environment; a missing variable stops the program with one line naming it. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): EditorBackendSettings {
  const read = (name: string): string => {
    const value = env[name]?.trim();
    if (!value) throw new Error(`${name} is not set (see examples/editor-backend/README.md)`);
    return value;
  };
  return {
    latchkeyUrl: env.LATCHKEY_ISSUER?.trim() || 'http://localhost:8080',
    environmentId: env.LATCHKEY_ENVIRONMENT?.trim() || 'demo',
    credentials: { clientId: read('LATCHKEY_CLIENT_ID'), clientSecret: read('LATCHKEY_CLIENT_SECRET') },
    port: Number(env.PORT ?? 3000),
    host: env.HOST ?? '127.0.0.1',
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const backend = await startEditorBackend(readSettings());
    console.log(`Editor backend at ${backend.url} (allow this origin in Latchkey: npx latchkey environments set-browser-origins <env> ${backend.url})`);
  } catch (error) {
    console.error(`editor-backend: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

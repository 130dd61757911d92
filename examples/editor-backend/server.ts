/**
 * An editor backend, the pattern the Latchkey docs recommend (see README.md next to this file).
 *
 * It holds two integrations:
 * - an **all-permissions** one for its own work (here: creating projects from templates), whose
 *   credentials and tokens never leave this process;
 * - a **read-only** one whose token it hands to the page, so the page can load fonts and media
 *   straight from the Environment API.
 *
 * Plain `node:http` and `@latchkey/client`, nothing else. Run it with
 * `npx tsx examples/editor-backend/server.ts` (the variables are listed in `readSettings`).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createAuthorizedFetch, TokenClient, TokenRequestError } from '@latchkey/client';

/** The read scopes of the Environment API: everything the editor page needs, nothing it could change. */
export const READ_ONLY_SCOPES = ['templates:read', 'projects:read', 'media:read', 'fonts:read'];

/** Credentials of one integration. */
export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** What the backend needs to run. */
export interface EditorBackendSettings {
  /** Latchkey's base URL (its issuer), e.g. http://localhost:8080. */
  latchkeyUrl: string;
  /** The environment the integrations live in. */
  environmentId: string;
  /** All permissions: stays on the server. */
  backend: Credentials;
  /** Read-only: its tokens go to the browser. */
  browser: Credentials;
  port?: number;
  host?: string;
}

/** A running backend. */
export interface EditorBackend {
  url: string;
  close(): Promise<void>;
}

const PAGE = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

async function readJson(request: http.IncomingMessage, limit = 16 * 1024): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/**
 * Starts the backend.
 *
 * @example
 * const backend = await startEditorBackend({ latchkeyUrl, environmentId: 'demo', backend, browser, port: 3000 });
 */
export async function startEditorBackend(settings: EditorBackendSettings): Promise<EditorBackend> {
  const base = settings.latchkeyUrl.replace(/\/+$/, '');
  const tokenUrl = `${base}/oauth/token`;
  const environmentApi = `${base}/api/v1/environments/${encodeURIComponent(settings.environmentId)}`;

  // The backend's own client: every permission the integration was granted.
  const backendTokens = new TokenClient({ tokenUrl, ...settings.backend });
  const backendApi = createAuthorizedFetch(backendTokens);
  // The browser's client asks for the read scopes explicitly: even if someone later grants this
  // integration more, the token the page gets stays read-only.
  const browserTokens = new TokenClient({ tokenUrl, ...settings.browser, scope: READ_ONLY_SCOPES });

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://backend');
    if (request.method === 'GET' && url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(PAGE);
      return;
    }

    // In a real application this route sits behind your own user authentication.
    if (request.method === 'GET' && url.pathname === '/editor-token') {
      const token = await browserTokens.getTokenResponse();
      // Defence in depth: never hand a token with a write scope to a page, whatever was granted.
      const writeScopes = (token.scope ?? '').split(' ').filter((scope) => scope.endsWith(':write'));
      if (writeScopes.length > 0) {
        sendJson(response, 500, { error: `the browser integration's token carries ${writeScopes.join(', ')}; give the browser a read-only integration` });
        return;
      }
      sendJson(response, 200, { access_token: token.accessToken, expires_in: token.expiresIn, scope: token.scope, environmentApi });
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
      const body = (await readJson(request)) as { templateId?: unknown; name?: unknown };
      if (typeof body.templateId !== 'string' || typeof body.name !== 'string') {
        sendJson(response, 400, { detail: 'templateId and name are required' });
        return;
      }
      // The write happens here, with the all-permissions token, never in the browser.
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
    backend: { clientId: read('EDITOR_BACKEND_CLIENT_ID'), clientSecret: read('EDITOR_BACKEND_CLIENT_SECRET') },
    browser: { clientId: read('EDITOR_BROWSER_CLIENT_ID'), clientSecret: read('EDITOR_BROWSER_CLIENT_SECRET') },
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

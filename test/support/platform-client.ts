// Helpers for Platform API suites: admins, console sessions (cookie + CSRF token), Platform API
// bearer tokens for integrations, and one request function that parses JSON and problem bodies.
// Every response text is appended to a transcript, so a suite can assert at the end that a secret
// shown once never came back in any later response.
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createAdmin, type EnvironmentRole } from '../../packages/server/src/platform/admins.ts';
import type { Grants, IntegrationWithSecret } from '../../packages/server/src/platform/integrations.ts';
import { basicAuthorization, TEST_CONTEXT, type TestLatchkey } from './latchkey.ts';

/** The password every test admin gets (12+ characters, as passwordProblem requires). */
export const TEST_PASSWORD = 'correct horse battery staple';

/** Every Platform API scope. */
export const PLATFORM_SCOPES = ['integrations:read', 'integrations:write', 'audit:read'];

/** A parsed HTTP answer. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  /** JSON (also application/problem+json) parsed, otherwise the text; null for an empty body. */
  body: T;
  text: string;
}

/** Options of one request. */
export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/** Who calls: nothing (anonymous), a session, or a bearer token. */
export interface PlatformClient {
  readonly label: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

/** Response texts of every request made through these helpers, in order. */
export const transcript: string[] = [];

/** Sends one request to `baseUrl + path`; JSON bodies are serialised with a JSON content type. */
export async function callApi<T = any>(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  transcript.push(text);
  const type = res.headers.get('content-type') ?? '';
  let parsed: unknown = text === '' ? null : text;
  if (text !== '' && /^application\/(problem\+)?json/.test(type)) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** A caller without credentials. */
export function anonymous(lk: Pick<TestLatchkey, 'url'>): PlatformClient {
  return { label: 'anonymous', request: (method, path, options) => callApi(lk.url, method, path, options) };
}

/** A caller with `Authorization: Bearer <token>`. */
export function bearer(lk: Pick<TestLatchkey, 'url'>, token: string, label = 'bearer'): PlatformClient {
  return {
    label,
    request: (method, path, options = {}) => callApi(lk.url, method, path, { ...options, headers: { authorization: `Bearer ${token}`, ...options.headers } }),
  };
}

/** A signed-in console session. `request` sends the cookie, and the CSRF token unless `csrf: false`. */
export interface SessionClient extends PlatformClient {
  cookie: string;
  csrfToken: string;
  /** The Set-Cookie header of the sign-in. */
  setCookie: string;
  /** The sign-in response body. */
  session: any;
  request<T = any>(method: string, path: string, options?: RequestOptions & { csrf?: boolean }): Promise<ApiResponse<T>>;
}

/** A client for an existing cookie value and CSRF token (e.g. to replay a cookie after sign-out). */
export function sessionClient(lk: Pick<TestLatchkey, 'url'>, cookie: string, csrfToken: string, label = 'session'): Omit<SessionClient, 'setCookie' | 'session'> {
  return {
    label,
    cookie,
    csrfToken,
    request: (method, path, options = {}) =>
      callApi(lk.url, method, path, {
        ...options,
        headers: { cookie: `latchkey_session=${cookie}`, ...(options.csrf === false ? {} : { 'x-csrf-token': csrfToken }), ...options.headers },
      }),
  };
}

/** Signs in with POST /api/v1/session; throws unless it answers 200 with a session cookie. */
export async function signIn(lk: Pick<TestLatchkey, 'url'>, email: string, password = TEST_PASSWORD): Promise<SessionClient> {
  const res = await callApi(lk.url, 'POST', '/api/v1/session', { body: { email, password } });
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('latchkey_session='));
  if (res.status !== 200 || !setCookie) throw new Error(`sign-in of ${email} failed: ${res.status} ${res.text}`);
  const cookie = setCookie.slice('latchkey_session='.length).split(';')[0]!;
  return { ...sessionClient(lk, cookie, res.body.csrfToken as string, email), setCookie, session: res.body };
}

/** Creates an admin through the domain function (as the CLI and bootstrap do). */
export async function createTestAdmin(
  lk: TestLatchkey,
  email: string,
  roles: { platformAdmin?: boolean; environments?: Record<string, EnvironmentRole> } = {},
  password = TEST_PASSWORD,
): Promise<void> {
  await createAdmin(lk.server.runtime.platform, { email, password, platformAdmin: roles.platformAdmin === true, environments: roles.environments ?? {} }, TEST_CONTEXT);
}

/** Creates an admin and signs them in. */
export async function adminSession(lk: TestLatchkey, email: string, roles: { platformAdmin?: boolean; environments?: Record<string, EnvironmentRole> } = {}): Promise<SessionClient> {
  await createTestAdmin(lk, email, roles);
  return signIn(lk, email);
}

/** Gets a Platform API access token for an integration (throws unless 200). */
export async function platformToken(lk: TestLatchkey, clientId: string, clientSecret: string, scope?: string): Promise<string> {
  const res = await lk.postToken(
    { grant_type: 'client_credentials', audience: lk.config.platformApiAudience, ...(scope ? { scope } : {}) },
    { authorization: basicAuthorization(clientId, clientSecret) },
  );
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`no Platform API token for ${clientId}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Creates an integration with the given Platform API scopes in `environmentId` and returns a bearer client for it. */
export async function integrationClient(
  lk: TestLatchkey,
  environmentId: string,
  scopes: string[],
  extraGrants: Grants = {},
): Promise<PlatformClient & { integration: IntegrationWithSecret }> {
  const integration = await lk.createIntegration({ environmentId, name: `automation ${scopes.join(' ')}`, grants: { 'platform-api': scopes, ...extraGrants } });
  const token = await platformToken(lk, integration.integration.clientId, integration.clientSecret);
  return { ...bearer(lk, token, `integration of ${environmentId} [${scopes.join(' ')}]`), integration };
}

/** Asks the token endpoint for an Environment API token; returns the status (200, 401, …). */
export async function tokenStatus(lk: TestLatchkey, clientId: string, clientSecret: string): Promise<number> {
  const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, clientSecret) });
  await res.arrayBuffer();
  return res.status;
}

/** Asserts that a response is an RFC 9457 problem document with this status and code; returns its body. */
export function expectProblem(res: ApiResponse, status: number, code: string): any {
  expect({ status: res.status, contentType: res.headers.get('content-type'), code: res.body?.code, bodyStatus: res.body?.status }, res.text).toEqual({
    status,
    contentType: 'application/problem+json; charset=utf-8',
    code,
    bodyStatus: status,
  });
  expect(Object.keys(res.body).filter((k) => !['type', 'title', 'status', 'detail', 'code', 'errors'].includes(k))).toEqual([]);
  return res.body;
}

// Route inventories for the suites that must cover "every route": what Fastify registered (parsed
// from printRoutes) and what the OpenAPI document lists.

/** An operation as `METHOD /path/{param}` (OpenAPI path syntax). */
export type RouteKey = `${string} /${string}`;

/** Tags of the Platform API's operations; the Environment API's operations carry other tags. */
export const PLATFORM_TAGS = ['Session', 'Environments', 'Integrations', 'Secrets', 'Permissions', 'Audit'];

/**
 * Every method and path Fastify has registered, from `printRoutes({ commonPrefix: false })`, with
 * `:param` written as `{param}`. HEAD routes Fastify adds for GET routes are left out.
 */
export function registeredRoutes(app: FastifyInstance): RouteKey[] {
  const keys = new Set<RouteKey>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)(?:[├└]── )?(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match || !match[2]) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack[depth] = match[2];
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD') keys.add(`${method} ${path}` as RouteKey);
    }
  }
  return [...keys].sort();
}

/** One operation of an OpenAPI document. */
export interface Operation {
  key: RouteKey;
  method: string;
  path: string;
  tags: string[];
  operation: Record<string, any>;
}

/** Every operation of an OpenAPI document. */
export function documentedOperations(document: { paths?: Record<string, Record<string, any>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'].includes(method)) continue;
      operations.push({ key: `${method.toUpperCase()} ${path}` as RouteKey, method: method.toUpperCase(), path, tags: operation.tags ?? [], operation });
    }
  }
  return operations.sort((a, b) => a.key.localeCompare(b.key));
}

/** The Platform API's operations in the document served at /docs/json. */
export async function platformOperations(baseUrl: string): Promise<Operation[]> {
  const document = (await (await fetch(`${baseUrl}/docs/json`)).json()) as { paths?: Record<string, Record<string, any>> };
  return documentedOperations(document).filter((op) => op.path.startsWith('/api/v1/') && op.tags.some((tag) => PLATFORM_TAGS.includes(tag)));
}

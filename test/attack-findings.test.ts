// Issue 14, point 1: what attacking a running server found, each finding proven with the abuse that
// exposed it, over both dialects and real HTTP. Two findings are proven next to their kin: the
// throttling an attacker could use to lock a client out in bad-input.property.test.ts ("failed
// client authentication is rate-limited"), and the file modes of the SQLite database in
// sqlite-files.test.ts. /docs (query configuration off, CSP) is checked in openapi.test.ts, with
// Chromium.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, callApi, documentedOperations, expectProblem, platformOperations, signIn, TEST_PASSWORD, type ApiResponse, type Operation, type SessionClient } from './support/platform-client.ts';
import type { IntegrationWithSecret } from '../packages/server/src/platform/integrations.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];

/** `{"content": [[[…]]]}` nested `levels` deep: 5,000 levels is about 10 KB. */
const nested = (levels: number) => `{"name":"deep","content":{"a":${'['.repeat(levels)}${']'.repeat(levels)}}}`;

describe.each(DIALECTS)('attack findings (%s)', (dialect) => {
  let lk: TestLatchkey;
  let admin: SessionClient;
  let integration: IntegrationWithSecret;
  /** Credentials as headers: a platform admin's session (with its CSRF token), an Environment API token. */
  let asAdmin: Record<string, string>;
  let asIntegration: Record<string, string>;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    admin = await adminSession(lk, 'attacks@example.com', { platformAdmin: true });
    asAdmin = { cookie: `latchkey_session=${admin.cookie}`, 'x-csrf-token': admin.csrfToken };
    integration = await lk.createIntegration({ name: 'attack findings', grants: { 'environment-api': ALL } });
    const res = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.integration.clientId, integration.clientSecret) });
    asIntegration = { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` };
  });
  afterAll(async () => lk?.close());

  /** Sends `text` as a JSON body exactly as given. */
  async function sendJson(method: string, path: string, headers: Record<string, string>, text: string): Promise<ApiResponse> {
    const res = await fetch(`${lk.url}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body: text });
    const body = await res.text();
    return { status: res.status, headers: res.headers, text: body, body: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(body) : body };
  }

  /**
   * Every documented operation that takes a JSON body, with its path parameters filled in. The OAuth
   * endpoints answer in RFC 6749 form, not problem documents: the next test covers them.
   */
  async function jsonOperations(): Promise<{ op: Operation; path: string; headers: Record<string, string> }[]> {
    const document = await (await fetch(`${lk.url}/docs/json`)).json();
    return documentedOperations(document)
      .filter((op) => op.operation.requestBody?.content?.['application/json'] !== undefined && !op.tags.includes('OAuth'))
      .map((op) => ({
        op,
        path: op.path.replace('{environmentId}', 'demo').replace('{clientId}', integration.integration.clientId).replace(/\{\w+\}/g, 'x'),
        headers: op.tags.some((tag) => tag.startsWith('Environment API')) ? asIntegration : asAdmin,
      }));
  }

  it('a JSON body nested 5,000 levels deep gets 400 invalid_request at every OAuth endpoint, never a 500', async () => {
    const document = await (await fetch(`${lk.url}/docs/json`)).json();
    const oauth = documentedOperations(document).filter((op) => op.tags.includes('OAuth') && op.method === 'POST');
    expect(oauth.map((op) => op.path).sort()).toEqual(['/oauth/introspect', '/oauth/revoke', '/oauth/token']);
    for (const op of oauth) {
      const deep = await sendJson('POST', op.path, {}, nested(5000));
      expect({ status: deep.status, error: deep.body.error }, op.key).toEqual({ status: 400, error: 'invalid_request' });
      expect(deep.body.error_description, op.key).toMatch(/nested more than 64 levels/);
    }
  });

  it('a JSON body nested 5,000 levels deep gets 400 json_too_deep on every JSON route, never a 500', async () => {
    const operations = await jsonOperations();
    // Platform API writes, session sign-in, and the Environment API's documents.
    expect(operations.length).toBeGreaterThan(10);
    expect(operations.filter(({ op }) => op.tags.some((tag) => tag.startsWith('Environment API'))).length).toBeGreaterThan(3);
    for (const { op, path, headers } of operations) {
      const deep = await sendJson(op.method, path, headers, nested(5000));
      const problem = expectProblem(deep, 400, 'json_too_deep');
      expect(problem.detail, op.key).toMatch(/nested more than 64 levels/);
    }
    // Within the bound the same document is taken.
    const created = await sendJson('POST', '/api/v1/environments/demo/templates', asIntegration, nested(60));
    expect(created.status, created.text).toBe(201);
    expect(lk.logs.filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });

  it('never stores a presented client_id that is not a Client ID as sent (a swapped client_id is a secret)', async () => {
    const victim = await lk.createIntegration({ name: 'swapped parameters' });
    const secret = victim.clientSecret;
    // The common mistake: the two parameters swapped, in the body and in a Basic header.
    const swapped = await lk.postToken({ grant_type: 'client_credentials', client_id: secret, client_secret: victim.integration.clientId });
    expect(swapped.status).toBe(401);
    const basic = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(secret, victim.integration.clientId) });
    expect(basic.status).toBe(401);
    // And before authentication: an unsupported grant type with the swapped pair.
    expect((await lk.postToken({ grant_type: 'password', client_id: secret, client_secret: victim.integration.clientId })).status).toBe(400);

    const deadline = Date.now() + 5000;
    let malformed: any[] = [];
    let failureKeys: string[] = [];
    while (Date.now() < deadline) {
      malformed = (await admin.request('GET', '/api/v1/audit?action=token.issue&actor=malformed&limit=50')).body.entries;
      failureKeys = (await lk.database.db.selectFrom('auth_failures').select('key').execute()).map((row) => row.key);
      if (malformed.length >= 3 && failureKeys.some((key) => key.startsWith('client malformed'))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(malformed.map((entry) => entry.outcome).sort()).toEqual(['invalid_client', 'invalid_client', 'unsupported_grant_type']);
    expect(failureKeys).toContain('client malformed from 127.0.0.1');
    // Nothing at rest holds the secret: the audit log, the failure counts, any table.
    for (const table of ['audit_log', 'auth_failures'] as const) {
      const rows = await lk.database.db.selectFrom(table).selectAll().execute();
      expect(JSON.stringify(rows), table).not.toContain(secret);
    }
    expect(lk.logs.join('\n')).not.toContain(secret);
  });

  it('a NUL character in a path, a query or a body is a 400, never a 500 (PostgreSQL cannot store one)', async () => {
    for (const [path, headers] of [
      ['/api/v1/environments/demo/templates/%00', asIntegration],
      [`/api/v1/environments/demo/integrations/%00/permissions`, asAdmin],
      ['/api/v1/audit?actor=%00', asAdmin],
      ['/api/v1/environments/demo/projects?owner=a%00b', asIntegration],
    ] as const) {
      const res = await fetch(`${lk.url}${path}`, { headers });
      const text = await res.text();
      expect({ path, status: res.status, code: JSON.parse(text).code }).toEqual({ path, status: 400, code: 'bad_url' });
    }
    // In bodies, NUL reaches the database only where nothing refuses it first: SQLite stores it,
    // PostgreSQL cannot, and answers 400 invalid_text.
    for (const [path, headers, body] of [
      ['/api/v1/session', {}, { email: 'a\u0000@example.com', password: 'x' }],
      ['/api/v1/environments/demo/integrations', asAdmin, { name: 'nul', description: 'a\u0000b' }],
      ['/api/v1/environments/demo/projects', asIntegration, { name: 'nul', templateId: 'tpl_\u0000' }],
    ] as const) {
      const res = await sendJson('POST', path, headers, JSON.stringify(body));
      expect(res.status, `${path}: ${res.text}`).toBeLessThan(500);
      if (res.status >= 400) expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      if (dialect === 'postgres') expect([res.status, res.body.code], path).toEqual([400, 'invalid_text']);
    }
    expect(lk.logs.filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });

  it('a repeated query parameter a route does not declare never reaches a database query', async () => {
    // Found by the fuzz suite: `owner` is declared for projects only; on templates, repeated, it
    // arrived as an array and made SQLite fail ("row value misused").
    for (const query of ['owner=0&owner=', 'owner=a&owner=b&owner=c', 'owner=x']) {
      const res = await fetch(`${lk.url}/api/v1/environments/demo/templates?${query}`, { headers: asIntegration });
      expect(res.status, query).toBe(200);
    }
    const repeated = await fetch(`${lk.url}/api/v1/environments/demo/projects?owner=a&owner=b`, { headers: asIntegration });
    expect(repeated.status).toBe(400);
    expect(lk.logs.filter((line) => /"level":(5|6)\d/.test(line))).toEqual([]);
  });

  it('answers every Platform API request with Cache-Control: no-store: sessions, CSRF tokens, secrets, errors', async () => {
    const reads = (await platformOperations(lk.url)).filter((op) => op.method === 'GET');
    expect(reads.length).toBeGreaterThan(8);
    const answers: [string, ApiResponse][] = [];
    for (const op of reads) {
      const path = op.path.replace('{environmentId}', 'demo').replace('{clientId}', integration.integration.clientId);
      answers.push([op.key, await admin.request('GET', path)]);
    }
    // Signing in (the CSRF token), a failed sign-in, creating an integration (its secret), signing out.
    const again = await signIn(lk, 'attacks@example.com');
    answers.push(['POST /api/v1/session', await callApi(lk.url, 'POST', '/api/v1/session', { body: { email: 'attacks@example.com', password: TEST_PASSWORD } })]);
    answers.push(['POST /api/v1/session (wrong password)', await callApi(lk.url, 'POST', '/api/v1/session', { body: { email: 'attacks@example.com', password: 'not the password' } })]);
    answers.push(['POST …/integrations', await again.request('POST', '/api/v1/environments/demo/integrations', { body: { name: 'shown once' } })]);
    answers.push(['GET /api/v1/environments (anonymous)', await callApi(lk.url, 'GET', '/api/v1/environments')]);
    answers.push(['DELETE /api/v1/session', await again.request('DELETE', '/api/v1/session')]);
    expect(answers.map(([key, res]) => [key, res.status < 500])).toEqual(answers.map(([key]) => [key, true]));
    expect(answers.filter(([, res]) => res.headers.get('cache-control') !== 'no-store').map(([key, res]) => `${key}: ${res.status} ${res.headers.get('cache-control')}`)).toEqual([]);
  });

  it("without credentials, an environment's OpenAPI document and CORS preflights answer an existing and a missing environment alike", async () => {
    // Ids of the same length, so even Content-Length cannot differ.
    await lk.createEnvironment('quiet');
    const withoutDate = (headers: Headers) => [...headers].filter(([name]) => name !== 'date');
    const documentOf = async (environmentId: string) => {
      const res = await fetch(`${lk.url}/api/v1/environments/${environmentId}/openapi.json`);
      return { status: res.status, headers: withoutDate(res.headers), text: (await res.text()).replaceAll(environmentId, '{id}') };
    };
    const [existing, missing] = [await documentOf('quiet'), await documentOf('ghost')];
    expect(existing.status).toBe(200);
    expect(missing).toEqual(existing);
    for (const route of ['media', 'media/med_x', 'fonts', 'fonts/fnt_x']) {
      const preflight = async (environmentId: string) => {
        const res = await fetch(`${lk.url}/api/v1/environments/${environmentId}/${route}`, {
          method: 'OPTIONS',
          headers: { origin: 'https://probe.example', 'access-control-request-method': 'GET' },
        });
        return { status: res.status, headers: withoutDate(res.headers), text: await res.text() };
      };
      const [allowedNowhere, missingEnvironment] = [await preflight('quiet'), await preflight('ghost')];
      expect(allowedNowhere.status, route).toBe(403);
      expect(missingEnvironment, route).toEqual(allowedNowhere);
    }
  });
});

// Authority that can be taken back (issue 13), against a real server over both dialects: the four
// attacks a running server was open to, changes in effect for the very next request, RFC 7009
// revocation, revoking every token of an integration, RFC 7662 introspection and the revocation feed.
// Every check is what a client sees over HTTP: no test reaches into the server between a write and
// the request that checks it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, bearer, expectProblem, platformToken, type ApiResponse, type SessionClient } from './support/platform-client.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));

interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** POST /oauth/token with Basic authentication; returns status and body. */
async function token(lk: TestLatchkey, who: Credentials, params: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await lk.postToken({ grant_type: 'client_credentials', ...params }, { authorization: basicAuthorization(who.clientId, who.clientSecret) });
  return { status: res.status, body: await res.json() };
}

async function accessToken(lk: TestLatchkey, who: Credentials, params: Record<string, string> = {}): Promise<string> {
  const answer = await token(lk, who, params);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body.access_token as string;
}

/** A request to the Environment API with a bearer token. */
async function envApi(lk: TestLatchkey, bearerToken: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${lk.url}/api/v1/environments${path}`, {
    method,
    headers: { authorization: `Bearer ${bearerToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? null : JSON.parse(text) };
}

/** A form POST to an /oauth endpoint with Basic client authentication. */
async function oauthPost(lk: TestLatchkey, path: string, who: Credentials | undefined, params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string; body: any }> {
  const res = await fetch(`${lk.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(who ? { authorization: basicAuthorization(who.clientId, who.clientSecret) } : {}), ...headers },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text === '' ? null : JSON.parse(text) };
}

function expectInvalidToken(answer: { status: number; headers: Headers }): void {
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
}

function credentialsOf(created: ApiResponse): Credentials {
  expect(created.status, created.text).toBe(201);
  return { clientId: created.body.integration.clientId as string, clientSecret: created.body.clientSecret as string };
}

describe.each(DIALECTS)('a revoked token across a restart (%s)', (dialect) => {
  it('is never handed out again by the next server on the same database, and stays refused', async () => {
    const first = await startTestLatchkey({ dialect });
    const { integration, clientSecret } = await first.createIntegration({ name: 'restarted' });
    const who = { clientId: integration.clientId, clientSecret };
    const issued = await accessToken(first, who);
    expect((await oauthPost(first, '/oauth/revoke', who, { token: issued })).status).toBe(200);
    // The revoked token is still in the shared token-cache table; a new process must not adopt it.
    await first.server.close();
    const second = await startTestLatchkey({ dialect, testDatabase: first.testDatabase });
    try {
      const next = await accessToken(second, who);
      expect(next).not.toBe(issued);
      expectInvalidToken(await envApi(second, issued, 'GET', '/demo/templates'));
      expect((await envApi(second, next, 'GET', '/demo/templates')).status).toBe(200);
    } finally {
      await second.close();
      await first.database.close();
      await first.testDatabase.drop();
    }
  });
});

describe.each(DIALECTS)('authority that can be taken back (%s)', (dialect) => {
  let lk: TestLatchkey;
  let root: SessionClient;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    root = await adminSession(lk, 'root@example.com', { platformAdmin: true });
  });

  afterAll(async () => {
    await lk?.close();
  });

  const createIntegration = async (environmentId: string, body: Record<string, unknown>) => credentialsOf(await root.request('POST', `/api/v1/environments/${environmentId}/integrations`, { body }));

  describe('attack: a token outlives its environment', () => {
    it("refuses every earlier token of a deleted environment on every route, even once the id is someone else's", async () => {
      expect((await root.request('POST', '/api/v1/environments', { body: { id: 'acme', name: 'ACME' } })).status).toBe(201);
      const owner = await createIntegration('acme', { name: 'owner', preset: 'all', grants: { 'platform-api': ['integrations:read', 'integrations:write', 'audit:read'] } });
      const envToken = await accessToken(lk, owner);
      const platform = bearer(lk, await platformToken(lk, owner.clientId, owner.clientSecret));
      expect((await envApi(lk, envToken, 'POST', '/acme/templates', { name: 'old tenant', content: { a: 1 } })).status).toBe(201);
      expect((await platform.request('GET', '/api/v1/environments/acme/integrations')).status).toBe(200);

      expect((await root.request('DELETE', '/api/v1/environments/acme')).status).toBe(204);
      expect((await root.request('POST', '/api/v1/environments', { body: { id: 'acme', name: 'Someone else' } })).status).toBe(201);
      const tenant = await createIntegration('acme', { name: 'new tenant', preset: 'all' });
      const tenantToken = await accessToken(lk, tenant);
      expect((await envApi(lk, tenantToken, 'POST', '/acme/templates', { name: 'new tenant', content: { b: 2 } })).status).toBe(201);

      // The old tenant's tokens: refused on the Environment API …
      expectInvalidToken(await envApi(lk, envToken, 'GET', '/acme/templates'));
      expectInvalidToken(await envApi(lk, envToken, 'POST', '/acme/templates', { name: 'hijack', content: {} }));
      // … and on the Platform API: no listing, no audit log, no new credentials.
      for (const [method, path, body] of [
        ['GET', '/api/v1/environments/acme/integrations', undefined],
        ['GET', '/api/v1/environments/acme/audit', undefined],
        ['POST', '/api/v1/environments/acme/integrations', { name: 'backdoor', preset: 'all' }],
      ] as const) {
        const answer = await platform.request(method, path, { body });
        expectProblem(answer, 401, 'invalid_token');
      }
      // … and introspection by the new tenant calls them inactive (the new tenant's own token is active).
      const introspector = await createIntegration('acme', { name: 'gateway', grants: { 'platform-api': ['tokens:introspect'] } });
      expect((await oauthPost(lk, '/oauth/introspect', introspector, { token: envToken })).text).toBe('{"active":false}');
      expect((await oauthPost(lk, '/oauth/introspect', introspector, { token: tenantToken })).body.active).toBe(true);
      // The new tenant's token, issued in the same second as the deletion, is not caught by it.
      const listed = await envApi(lk, tenantToken, 'GET', '/acme/templates');
      expect(listed.status).toBe(200);
      expect(listed.body.templates.map((t: { name: string }) => t.name)).toEqual(['new tenant']);
    });
  });

  describe('attack: disabling does not stop a Platform API token', () => {
    it('refuses a disabled or deleted integration’s Platform API token at once, including to re-enable itself', async () => {
      const bot = await createIntegration('demo', { name: 'provisioner', grants: { 'platform-api': ['integrations:read', 'integrations:write'] } });
      const client = bearer(lk, await platformToken(lk, bot.clientId, bot.clientSecret));
      expect((await client.request('GET', '/api/v1/environments/demo/integrations')).status).toBe(200);

      expect((await root.request('POST', `/api/v1/environments/demo/integrations/${bot.clientId}/disable`)).status).toBe(200);
      expectProblem(await client.request('POST', '/api/v1/environments/demo/integrations', { body: { name: 'more credentials', preset: 'all' } }), 401, 'invalid_token');
      expectProblem(await client.request('POST', `/api/v1/environments/demo/integrations/${bot.clientId}/enable`), 401, 'invalid_token');
      expect((await root.request('GET', `/api/v1/environments/demo/integrations/${bot.clientId}`)).body.disabled).toBe(true);

      // Enabled again: the tokens revoked by the disable stay revoked; a new one works.
      expect((await root.request('POST', `/api/v1/environments/demo/integrations/${bot.clientId}/enable`)).status).toBe(200);
      expectProblem(await client.request('GET', '/api/v1/environments/demo/integrations'), 401, 'invalid_token');
      const fresh = bearer(lk, await platformToken(lk, bot.clientId, bot.clientSecret));
      expect((await fresh.request('GET', '/api/v1/environments/demo/integrations')).status).toBe(200);

      expect((await root.request('DELETE', `/api/v1/environments/demo/integrations/${bot.clientId}`)).status).toBe(204);
      expectProblem(await fresh.request('GET', '/api/v1/environments/demo/integrations'), 401, 'invalid_token');
    });

    it('refuses a Platform API token whose Platform API permission was removed', async () => {
      const bot = await createIntegration('demo', { name: 'reader', preset: 'read-only', grants: { 'platform-api': ['integrations:read'] } });
      const client = bearer(lk, await platformToken(lk, bot.clientId, bot.clientSecret));
      expect((await client.request('GET', '/api/v1/environments/demo/integrations')).status).toBe(200);
      const changed = await root.request('PUT', `/api/v1/environments/demo/integrations/${bot.clientId}/permissions`, { body: { grants: { 'platform-api': [] } } });
      expect(changed.status, changed.text).toBe(200);
      expectProblem(await client.request('GET', '/api/v1/environments/demo/integrations'), 401, 'invalid_token');
    });

    it('does not let an integration change its own status', async () => {
      const bot = await createIntegration('demo', { name: 'self-aware', grants: { 'platform-api': ['integrations:read', 'integrations:write'] } });
      const client = bearer(lk, await platformToken(lk, bot.clientId, bot.clientSecret));
      for (const [method, suffix] of [
        ['POST', '/disable'],
        ['POST', '/enable'],
        ['DELETE', ''],
      ] as const) {
        expectProblem(await client.request(method, `/api/v1/environments/demo/integrations/${bot.clientId}${suffix}`), 403, 'own_status');
      }
      expect((await root.request('GET', `/api/v1/environments/demo/integrations/${bot.clientId}`)).body.disabled).toBe(false);
      // Rotating its own secret is ordinary automation, and allowed.
      expect((await client.request('POST', `/api/v1/environments/demo/integrations/${bot.clientId}/secrets`, { body: { graceSeconds: 60 } })).status).toBe(201);
    });
  });

  describe('attack: escalation by takeover', () => {
    it('does not let integrations:write change, rotate, revoke or delete an integration holding audit:read', async () => {
      const writer = await createIntegration('demo', { name: 'writer', grants: { 'platform-api': ['integrations:read', 'integrations:write'] } });
      const auditor = await createIntegration('demo', { name: 'auditor', grants: { 'platform-api': ['audit:read'] } });
      const plain = await createIntegration('demo', { name: 'plain', preset: 'read-only' });
      const client = bearer(lk, await platformToken(lk, writer.clientId, writer.clientSecret));
      const target = `/api/v1/environments/demo/integrations/${auditor.clientId}`;
      const auditorSecretId = (await root.request('GET', `${target}/secrets`)).body.secrets[0].id as string;
      for (const [method, suffix, body] of [
        ['POST', '/secrets', { graceSeconds: 0 }],
        ['DELETE', `/secrets/${auditorSecretId}`, undefined],
        ['PUT', '/permissions', { grants: { 'platform-api': [] } }],
        ['POST', '/permissions/preset', { preset: 'all' }],
        ['PATCH', '', { name: 'renamed' }],
        ['POST', '/disable', undefined],
        ['POST', '/enable', undefined],
        ['POST', '/revoke-tokens', undefined],
        ['DELETE', '', undefined],
      ] as const) {
        const answer = await client.request(method, `${target}${suffix}`, { body });
        expectProblem(answer, 403, 'scope_escalation');
        expect(answer.text).not.toMatch(/lks_/);
      }
      // The auditor's secret still works: nothing changed.
      expect((await token(lk, auditor, { audience: lk.config.platformApiAudience })).status).toBe(200);
      // An integration without Platform API scopes is the writer's to manage.
      expect((await client.request('POST', `/api/v1/environments/demo/integrations/${plain.clientId}/secrets`, { body: {} })).status).toBe(201);
      // One that holds audit:read itself may manage the auditor.
      const peer = await createIntegration('demo', { name: 'peer', grants: { 'platform-api': ['integrations:write', 'audit:read'] } });
      const peerClient = bearer(lk, await platformToken(lk, peer.clientId, peer.clientSecret));
      expect((await peerClient.request('POST', `${target}/secrets`, { body: {} })).status).toBe(201);
    });
  });

  describe('changes are in effect for the very next request', () => {
    it('applies permissions, disable, enable, rotation, secret revocation and delete before the write answers', async () => {
      const who = await createIntegration('demo', { name: 'at once', preset: 'all' });
      const path = `/api/v1/environments/demo/integrations/${who.clientId}`;
      const writeToken = await accessToken(lk, who);
      expect((await envApi(lk, writeToken, 'POST', '/demo/templates', { name: 'w', content: {} })).status).toBe(201);

      expect((await root.request('POST', `${path}/permissions/preset`, { body: { preset: 'read-only' } })).status).toBe(200);
      const readToken = await token(lk, who);
      expect(readToken.body.scope).toBe(READ_ONLY.join(' '));
      expect(readToken.body.access_token).not.toBe(writeToken);
      // Removing scopes revoked the write token everywhere.
      expectInvalidToken(await envApi(lk, writeToken, 'GET', '/demo/templates'));
      expect((await envApi(lk, readToken.body.access_token, 'GET', '/demo/templates')).status).toBe(200);

      // Adding scopes keeps earlier tokens valid.
      expect((await root.request('POST', `${path}/permissions/preset`, { body: { preset: 'all' } })).status).toBe(200);
      expect((await envApi(lk, readToken.body.access_token, 'GET', '/demo/templates')).status).toBe(200);
      expect((await token(lk, who)).body.scope).toBe(ALL.join(' '));

      expect((await root.request('POST', `${path}/disable`)).status).toBe(200);
      expect((await token(lk, who)).status).toBe(401);
      expectInvalidToken(await envApi(lk, readToken.body.access_token, 'GET', '/demo/templates'));
      expect((await root.request('POST', `${path}/enable`)).status).toBe(200);
      const afterEnable = await token(lk, who);
      expect(afterEnable.status).toBe(200);
      expect((await envApi(lk, afterEnable.body.access_token, 'GET', '/demo/templates')).status).toBe(200);

      const rotated = await root.request('POST', `${path}/secrets`, { body: {} });
      expect(rotated.status).toBe(201);
      const next = { clientId: who.clientId, clientSecret: rotated.body.clientSecret as string };
      expect((await token(lk, who)).status).toBe(401);
      expect((await token(lk, next)).status).toBe(200);

      const graceful = await root.request('POST', `${path}/secrets`, { body: { graceSeconds: 3600 } });
      const third = { clientId: who.clientId, clientSecret: graceful.body.clientSecret as string };
      expect((await token(lk, next)).status).toBe(200);
      const expiring = (graceful.body.integration.secrets as { id: string; status: string }[]).find((secret) => secret.status === 'expiring')!;
      expect((await root.request('DELETE', `${path}/secrets/${expiring.id}`)).status).toBe(200);
      expect((await token(lk, next)).status).toBe(401);
      expect((await token(lk, third)).status).toBe(200);

      const lastToken = await accessToken(lk, third);
      expect((await root.request('DELETE', path)).status).toBe(204);
      expect((await token(lk, third)).status).toBe(401);
      expectInvalidToken(await envApi(lk, lastToken, 'GET', '/demo/templates'));
    });
  });

  describe('revoking every token of an integration', () => {
    it('refuses every earlier token on every API, hands out a new one, and audits it', async () => {
      const who = await createIntegration('demo', { name: 'leaky', preset: 'all', grants: { 'platform-api': ['integrations:read'] } });
      const envToken = await accessToken(lk, who);
      const narrow = await accessToken(lk, who, { scope: 'templates:read' });
      const platform = bearer(lk, await platformToken(lk, who.clientId, who.clientSecret));
      expect((await platform.request('GET', '/api/v1/environments/demo/integrations')).status).toBe(200);

      const revoked = await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`);
      expect(revoked.status, revoked.text).toBe(200);
      expect(Date.parse(revoked.body.tokensRevokedAt)).toBeGreaterThan(Date.now() - 5000);

      expectInvalidToken(await envApi(lk, envToken, 'GET', '/demo/templates'));
      expectInvalidToken(await envApi(lk, narrow, 'GET', '/demo/templates'));
      expectProblem(await platform.request('GET', '/api/v1/environments/demo/integrations'), 401, 'invalid_token');

      // The very next token request gets a new token, which works — even within the same second.
      const fresh = await accessToken(lk, who);
      expect(fresh).not.toBe(envToken);
      expect((await envApi(lk, fresh, 'GET', '/demo/templates')).status).toBe(200);
      expect(await accessToken(lk, who)).toBe(fresh);

      const audit = await root.request('GET', `/api/v1/environments/demo/audit?action=integration.tokens.revoke&actor=root@example.com`);
      expect(audit.body.entries[0]).toMatchObject({ action: 'integration.tokens.revoke', target: { type: 'integration', id: who.clientId }, outcome: 'success' });
    });

    it('offers revoking tokens with a secret rotation, for a suspected leak', async () => {
      const who = await createIntegration('demo', { name: 'leaked', preset: 'all' });
      const old = await accessToken(lk, who);
      const rotated = await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/secrets`, { body: { graceSeconds: 600, revokeTokens: true } });
      expect(rotated.status).toBe(201);
      expectInvalidToken(await envApi(lk, old, 'GET', '/demo/templates'));
      // The old secret still works during its grace period, but only for new tokens.
      const during = await accessToken(lk, who);
      expect((await envApi(lk, during, 'GET', '/demo/templates')).status).toBe(200);
    });
  });

  describe('RFC 7009 revocation', () => {
    it('revokes a client’s own token: refused by the Environment API, never handed out again', async () => {
      const who = await createIntegration('demo', { name: 'revoker', preset: 'all' });
      const first = await accessToken(lk, who);
      expect(await accessToken(lk, who)).toBe(first);
      expect((await envApi(lk, first, 'GET', '/demo/templates')).status).toBe(200);

      const answer = await oauthPost(lk, '/oauth/revoke', who, { token: first, token_type_hint: 'access_token' });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expectInvalidToken(await envApi(lk, first, 'GET', '/demo/templates'));
      const second = await accessToken(lk, who);
      expect(second).not.toBe(first);
      expect((await envApi(lk, second, 'GET', '/demo/templates')).status).toBe(200);
      // Again: nothing to do, same answer.
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: first })).status).toBe(200);
    });

    it('answers 200 for unknown and foreign tokens without revoking anything, and errors in RFC 6749 form', async () => {
      const who = await createIntegration('demo', { name: 'caller', preset: 'all' });
      const other = await createIntegration('demo', { name: 'victim', preset: 'all' });
      const victimToken = await accessToken(lk, other);
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: victimToken })).status).toBe(200);
      expect((await envApi(lk, victimToken, 'GET', '/demo/templates')).status).toBe(200);
      expect(await accessToken(lk, other)).toBe(victimToken);
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: 'not-a-token' })).status).toBe(200);
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: `${victimToken.slice(0, -4)}AAAA` })).status).toBe(200);

      const missing = await oauthPost(lk, '/oauth/revoke', who, {});
      expect({ status: missing.status, error: missing.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      const wrong = await oauthPost(lk, '/oauth/revoke', { clientId: who.clientId, clientSecret: 'lks_wrong' }, { token: victimToken });
      expect({ status: wrong.status, error: wrong.body.error }).toEqual({ status: 401, error: 'invalid_client' });
      const anonymous = await oauthPost(lk, '/oauth/revoke', undefined, { token: victimToken });
      expect({ status: anonymous.status, error: anonymous.body.error }).toEqual({ status: 400, error: 'invalid_request' });
      const get = await fetch(`${lk.url}/oauth/revoke`);
      expect({ status: get.status, allow: get.headers.get('allow') }).toEqual({ status: 405, allow: 'POST' });
      await get.arrayBuffer();
      expect((await envApi(lk, victimToken, 'GET', '/demo/templates')).status).toBe(200);
    });

    it('takes client_secret_post and JSON bodies, like the token endpoint', async () => {
      const who = await createIntegration('demo', { name: 'json revoker', preset: 'read-only' });
      const issued = await accessToken(lk, who);
      const res = await fetch(`${lk.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: issued, client_id: who.clientId, client_secret: who.clientSecret }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expectInvalidToken(await envApi(lk, issued, 'GET', '/demo/templates'));
    });
  });

  describe('RFC 7662 introspection', () => {
    it('answers active with the claims only for live tokens of the caller’s own environment', async () => {
      const introspector = await createIntegration('demo', { name: 'gateway', grants: { 'platform-api': ['tokens:introspect'] } });
      const subject = await createIntegration('demo', { name: 'subject', preset: 'read-only' });
      const live = await accessToken(lk, subject);
      const active = await oauthPost(lk, '/oauth/introspect', introspector, { token: live });
      expect(active.status).toBe(200);
      expect(active.headers.get('cache-control')).toBe('no-store');
      expect(active.body).toMatchObject({ active: true, client_id: subject.clientId, sub: subject.clientId, scope: READ_ONLY.join(' '), environment: 'demo', token_type: 'Bearer', iss: lk.config.issuer, aud: lk.config.environmentApiAudience });
      expect(typeof active.body.exp).toBe('number');

      // The same, with a Platform API bearer token instead of client credentials.
      const viaBearer = await oauthPost(lk, '/oauth/introspect', undefined, { token: live }, { authorization: `Bearer ${await platformToken(lk, introspector.clientId, introspector.clientSecret)}` });
      expect(viaBearer.body.active).toBe(true);

      if (!(await root.request('GET', '/api/v1/environments/elsewhere')).status.toString().startsWith('2')) {
        expect((await root.request('POST', '/api/v1/environments', { body: { id: 'elsewhere' } })).status).toBe(201);
      }
      const foreign = await accessToken(lk, await createIntegration('elsewhere', { name: 'foreign', preset: 'all' }));
      for (const candidate of [foreign, 'garbage', `${live.slice(0, -3)}abc`, live.split('.').slice(0, 2).join('.') + '.']) {
        const answer = await oauthPost(lk, '/oauth/introspect', introspector, { token: candidate });
        expect(answer.status).toBe(200);
        expect(answer.text).toBe('{"active":false}');
      }
      expect((await oauthPost(lk, '/oauth/revoke', subject, { token: live })).status).toBe(200);
      expect((await oauthPost(lk, '/oauth/introspect', introspector, { token: live })).text).toBe('{"active":false}');
    });

    it('refuses callers without tokens:introspect, and anonymous ones', async () => {
      const plain = await createIntegration('demo', { name: 'no introspection', preset: 'all', grants: { 'platform-api': ['integrations:read'] } });
      const someToken = await accessToken(lk, plain);
      const refused = await oauthPost(lk, '/oauth/introspect', plain, { token: someToken });
      expect({ status: refused.status, error: refused.body.error }).toEqual({ status: 403, error: 'insufficient_scope' });
      const viaBearer = await oauthPost(lk, '/oauth/introspect', undefined, { token: someToken }, { authorization: `Bearer ${await platformToken(lk, plain.clientId, plain.clientSecret)}` });
      expect({ status: viaBearer.status, error: viaBearer.body.error }).toEqual({ status: 403, error: 'insufficient_scope' });
      const forged = await oauthPost(lk, '/oauth/introspect', undefined, { token: someToken }, { authorization: `Bearer ${someToken}` });
      expect(forged.status).toBe(401);
      expect(forged.text).not.toContain('"active"');
      const anonymous = await oauthPost(lk, '/oauth/introspect', undefined, { token: someToken });
      expect(anonymous.status).toBe(400);
      expect(anonymous.text).not.toContain('"active"');
    });
  });

  describe('the revocation feed', () => {
    it('is named in the discovery metadata with the revocation and introspection endpoints', async () => {
      const metadata = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(metadata).toMatchObject({
        revocation_endpoint: `${lk.config.issuer}/oauth/revoke`,
        introspection_endpoint: `${lk.config.issuer}/oauth/introspect`,
        latchkey_revocation_feed_endpoint: `${lk.config.issuer}/oauth/revocations`,
      });
    });

    it('lists revocations after a cursor as JSON, and refuses a malformed cursor', async () => {
      const start = (await (await fetch(`${lk.url}/oauth/revocations`)).json()) as { entries: unknown[]; cursor: string; hasMore: boolean };
      const who = await createIntegration('demo', { name: 'feed', preset: 'all' });
      const issued = await accessToken(lk, who);
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: issued })).status).toBe(200);
      expect((await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`)).status).toBe(200);
      const res = await fetch(`${lk.url}/oauth/revocations?after=${start.cursor}`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const page = (await res.json()) as { entries: any[]; cursor: string; hasMore: boolean };
      const jti = JSON.parse(Buffer.from(issued.split('.')[1]!, 'base64url').toString()).jti;
      expect(page.entries).toEqual([
        { type: 'token', jti, expiresAt: expect.any(Number) },
        { type: 'client', clientId: who.clientId, notBefore: expect.any(Number), expiresAt: expect.any(Number) },
      ]);
      expect(page.hasMore).toBe(false);
      expect(Number(page.cursor)).toBeGreaterThan(Number(start.cursor));
      const empty = (await (await fetch(`${lk.url}/oauth/revocations?after=${page.cursor}`)).json()) as { entries: unknown[] };
      expect(empty.entries).toEqual([]);
      const bad = await fetch(`${lk.url}/oauth/revocations?after=abc`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toBe('invalid_request');
    });

    it('holds one entry per integration however often its tokens are revoked', async () => {
      const who = await createIntegration('demo', { name: 'revoked often', preset: 'all' });
      for (let i = 0; i < 3; i++) expect((await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`)).status).toBe(200);
      const all = (await (await fetch(`${lk.url}/oauth/revocations`)).json()) as { entries: { type: string; clientId?: string; notBefore?: number }[] };
      const mine = all.entries.filter((entry) => entry.clientId === who.clientId);
      expect(mine).toHaveLength(1);
      expect(mine[0]!.notBefore).toBe(Math.floor(Date.parse((await root.request('GET', `/api/v1/environments/demo/integrations/${who.clientId}`)).body.tokensRevokedAt) / 1000));
    });

    it('bounds what one client adds by revoking its tokens one by one: past 100, it revokes them all at once', async () => {
      const who = await createIntegration('demo', { name: 'revocation flood', preset: 'all' });
      const bystander = await accessToken(lk, who, { scope: 'fonts:read' });
      const before = (await (await fetch(`${lk.url}/oauth/revocations`)).json()) as { cursor: string };
      for (let i = 0; i < 100; i++) {
        const issued = await accessToken(lk, who);
        expect((await oauthPost(lk, '/oauth/revoke', who, { token: issued })).status).toBe(200);
      }
      expect((await envApi(lk, bystander, 'GET', '/demo/fonts')).status).toBe(200);
      const last = await accessToken(lk, who);
      expect((await oauthPost(lk, '/oauth/revoke', who, { token: last })).status).toBe(200);
      expectInvalidToken(await envApi(lk, last, 'GET', '/demo/templates'));
      // The 101st revoked every token of the client issued so far, in one entry.
      expectInvalidToken(await envApi(lk, bystander, 'GET', '/demo/fonts'));
      const added = (await (await fetch(`${lk.url}/oauth/revocations?after=${before.cursor}`)).json()) as { entries: { type: string; clientId?: string }[] };
      expect(added.entries.filter((entry) => entry.type === 'token')).toHaveLength(100);
      expect(added.entries.filter((entry) => entry.type === 'client' && entry.clientId === who.clientId)).toHaveLength(1);
      const fresh = await accessToken(lk, who);
      expect((await envApi(lk, fresh, 'GET', '/demo/templates')).status).toBe(200);
    });

    it('pushes a revocation to a Server-Sent Events subscriber as it happens, and resumes after Last-Event-ID', async () => {
      const controller = new AbortController();
      const stream = await fetch(`${lk.url}/oauth/revocations`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let received = '';
      const readUntil = async (pattern: RegExp) => {
        while (!pattern.test(received)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended before ${pattern}`);
          received += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/event: ready\n/);
      const metrics = await (await fetch(`${lk.url}/metrics`)).text();
      expect(Number(/^latchkey_revocation_feed_streams (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(/^latchkey_revocations_live (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
      const who = await createIntegration('demo', { name: 'pushed', preset: 'all' });
      expect((await root.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`)).status).toBe(200);
      await readUntil(new RegExp(`"clientId":"${who.clientId}"`));
      const event = /id: (\d+)\nevent: revocation\ndata: (\{[^\n]*"clientId":"[^"]+"[^\n]*\})\n\n/.exec(received.slice(received.indexOf('event: ready')))!;
      expect(JSON.parse(event[2]!)).toMatchObject({ type: 'client', clientId: who.clientId });
      controller.abort();

      // Reconnecting after that event sends only what came later.
      const later = await createIntegration('demo', { name: 'later', preset: 'all' });
      expect((await root.request('POST', `/api/v1/environments/demo/integrations/${later.clientId}/disable`)).status).toBe(200);
      const resumed = new AbortController();
      const again = await fetch(`${lk.url}/oauth/revocations`, { headers: { accept: 'text/event-stream', 'last-event-id': event[1]! }, signal: resumed.signal });
      const againReader = again.body!.getReader();
      let text = '';
      while (!text.includes('event: ready')) {
        const { value, done } = await againReader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      resumed.abort();
      expect(text).toContain(`"clientId":"${later.clientId}"`);
      expect(text).not.toContain(`"clientId":"${who.clientId}"`);
    });
  });
});

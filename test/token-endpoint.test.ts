import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { setIntegrationDisabled, deleteIntegration, rotateSecret, setPermissions } from '../packages/server/src/platform/integrations.ts';
import { rotateSigningKey } from '../packages/server/src/keys/signing-keys.ts';
import { loadConfig, ConfigError } from '../packages/server/src/config/load-config.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ['templates:read', 'projects:read', 'media:read', 'fonts:read'];

async function tokenFor(lk: TestLatchkey, clientId: string, secret: string, params: Record<string, string> = {}) {
  const res = await lk.postToken({ grant_type: 'client_credentials', ...params }, { authorization: basicAuthorization(clientId, secret) });
  return { res, body: (await res.json()) as Record<string, unknown> };
}

describe.each(DIALECTS)('POST /oauth/token (%s)', (dialect) => {
  describe('protocol', () => {
    let lk: TestLatchkey;
    let clientId: string;
    let secret: string;
    beforeAll(async () => {
      lk = await startTestLatchkey({ dialect });
      const created = await lk.createIntegration({ grants: { 'environment-api': ALL } });
      clientId = created.integration.clientId;
      secret = created.clientSecret;
    });
    afterAll(async () => lk?.close());

    it('exposes outcome counts and dropped audit entries (none) at /metrics', async () => {
      await tokenFor(lk, clientId, secret);
      await tokenFor(lk, clientId, secret);
      await tokenFor(lk, clientId, 'wrong');
      const text = await (await fetch(`${lk.url}/metrics`)).text();
      const value = (line: RegExp) => Number(text.match(line)?.[1]);
      expect(value(/^latchkey_token_requests_total\{outcome="cached"\} (\d+)$/m) + value(/^latchkey_token_requests_total\{outcome="minted"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
      expect(value(/^latchkey_token_requests_total\{outcome="invalid_client"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
      expect(text).toMatch(/^latchkey_audit_entries_dropped_total 0$/m);
    });

    it('answers 200 with exactly the RFC 6749 §5.1 fields and no-store headers', async () => {
      const { res, body } = await tokenFor(lk, clientId, secret);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(body.token_type).toBe('Bearer');
      // Whole seconds remaining (RFC 6749 §5.1): a mint that straddles a second boundary answers 86399.
      expect([86399, 86400]).toContain(body.expires_in);
      expect(body.scope).toBe(ALL.join(' '));
    });

    it('accepts client_secret_post in a form body and in a JSON body with a charset', async () => {
      const form = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
      expect(form.status).toBe(200);
      const json = await fetch(`${lk.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      });
      expect(json.status).toBe(200);
    });

    it('issues an RFC 9068 JWT signed by a key in the JWKS', async () => {
      const { body } = await tokenFor(lk, clientId, secret);
      const token = body.access_token as string;
      const header = decodeProtectedHeader(token);
      expect(header.typ).toBe('at+jwt');
      expect(header.alg).toBe('ES256');
      const jwks = (await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid)).toContain(header.kid);
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: lk.config.issuer, audience: lk.config.environmentApiAudience, typ: 'at+jwt' });
      expect(payload).toMatchObject({ sub: clientId, client_id: clientId, scope: ALL.join(' '), environment: 'demo' });
      expect(typeof payload.jti).toBe('string');
      expect(payload.exp! - payload.iat!).toBe(86400);
      for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
    });

    it('grants every granted scope when none is asked, and narrows to the scopes asked', async () => {
      const narrowed = await tokenFor(lk, clientId, secret, { scope: 'media:read   fonts:read' });
      expect(narrowed.body.scope).toBe('media:read fonts:read');
      expect(decodeJwt(narrowed.body.access_token as string).scope).toBe('media:read fonts:read');
    });

    it('accepts the audience by identifier, by RFC 8707 resource, and by the seed alias', async () => {
      const variants: Record<string, string>[] = [{ audience: lk.config.environmentApiAudience }, { resource: lk.config.environmentApiAudience }, { audience: "https://chiligrafx.com" }];
      for (const params of variants) {
        const { res, body } = await tokenFor(lk, clientId, secret, params);
        expect(res.status).toBe(200);
        expect(decodeJwt(body.access_token as string).aud).toBe(lk.config.environmentApiAudience);
      }
    });

    it('tells an unknown API (invalid_target) apart from an API without permission (access_denied)', async () => {
      const unknown = await tokenFor(lk, clientId, secret, { audience: 'https://elsewhere.example' });
      expect(unknown.res.status).toBe(400);
      expect(unknown.body.error).toBe('invalid_target');
      expect(unknown.body.error_description).toContain('unknown audience');
      const denied = await tokenFor(lk, clientId, secret, { audience: lk.config.platformApiAudience });
      expect(denied.res.status).toBe(403);
      expect(denied.body.error).toBe('access_denied');
      expect(denied.body.error_description).toContain('no permission for the Platform API');
    });

    it('rejects scopes outside the grant with invalid_scope naming the scope', async () => {
      const readOnly = await lk.createIntegration({ grants: { 'environment-api': READ_ONLY } });
      const { res, body } = await tokenFor(lk, readOnly.integration.clientId, readOnly.clientSecret, { scope: 'templates:write' });
      expect(res.status).toBe(400);
      expect(body).toEqual({ error: 'invalid_scope', error_description: expect.stringContaining("'templates:write' is not granted") });
      const unknown = await tokenFor(lk, clientId, secret, { scope: 'nonsense:read' });
      expect(unknown.body.error).toBe('invalid_scope');
      const otherApi = await tokenFor(lk, clientId, secret, { scope: 'audit:read' });
      expect(otherApi.body.error_description).toContain('belongs to the Platform API');
    });

    it('answers an unknown client and a wrong secret with the same status and body', async () => {
      const other = await lk.createIntegration();
      const wrongSecret = await tokenFor(lk, clientId, other.clientSecret);
      const unknownClient = await tokenFor(lk, 'lkc_0000000000000000000000', secret);
      const notAnId = await tokenFor(lk, 'someone', secret);
      for (const attempt of [wrongSecret, unknownClient, notAnId]) {
        expect(attempt.res.status).toBe(401);
        expect(attempt.res.headers.get('www-authenticate')).toMatch(/^Basic realm="latchkey"/);
        expect(attempt.res.headers.get('cache-control')).toBe('no-store');
      }
      expect(unknownClient.body).toEqual(wrongSecret.body);
      expect(notAnId.body).toEqual(wrongSecret.body);
      const post = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId, client_secret: other.clientSecret });
      expect(post.status).toBe(401);
      // RFC 9110 §15.5.2: every 401 carries a challenge, client_secret_post too (checklist 9).
      expect(post.headers.get('www-authenticate')).toMatch(/^Basic realm="latchkey"/);
    });

    it('says so when the Client ID is sent as the secret (the seed samples mistake)', async () => {
      const { res, body } = await tokenFor(lk, clientId, clientId);
      expect(res.status).toBe(401);
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toContain('client_secret is the same as client_id');
    });

    it('refuses two authentication methods at once and a body client_id that differs from Basic', async () => {
      const both = await lk.postToken({ grant_type: 'client_credentials', client_secret: secret }, { authorization: basicAuthorization(clientId, secret) });
      expect(both.status).toBe(400);
      expect((await both.json()).error).toBe('invalid_request');
      const differs = await lk.postToken({ grant_type: 'client_credentials', client_id: 'lkc_other' }, { authorization: basicAuthorization(clientId, secret) });
      expect(differs.status).toBe(400);
      const same = await lk.postToken({ grant_type: 'client_credentials', client_id: clientId }, { authorization: basicAuthorization(clientId, secret) });
      expect(same.status).toBe(200);
    });

    it('refuses credentials in the query string, a missing grant_type and other grants', async () => {
      const query = await fetch(`${lk.url}/oauth/token?client_secret=${secret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${clientId}`,
      });
      expect(query.status).toBe(400);
      expect((await query.json()).error).toBe('invalid_request');
      const missing = await lk.postToken({ client_id: clientId, client_secret: secret });
      expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
      const other = await lk.postToken({ grant_type: 'password', client_id: clientId, client_secret: secret });
      expect(other.status).toBe(400);
      expect((await other.json()).error).toBe('unsupported_grant_type');
    });

    it('treats an empty value as absent and ignores unknown parameters', async () => {
      const { res, body } = await tokenFor(lk, clientId, secret, { scope: '', extra: 'ignored' });
      expect(res.status).toBe(200);
      expect(body.scope).toBe(ALL.join(' '));
    });

    it('never issues a token on GET', async () => {
      const res = await fetch(`${lk.url}/oauth/token?grant_type=client_credentials`, { headers: { authorization: basicAuthorization(clientId, secret) } });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('publishes RFC 8414 metadata whose issuer is the tokens iss', async () => {
      const metadata = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(lk.config.issuer);
      expect(metadata.token_endpoint).toBe(`${lk.config.issuer}/oauth/token`);
      expect(metadata.jwks_uri).toBe(`${lk.config.issuer}/.well-known/jwks.json`);
      expect(metadata.grant_types_supported).toEqual(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post']);
      expect(metadata).toHaveProperty('response_types_supported');
      expect(metadata.scopes_supported).toEqual(expect.arrayContaining([...ALL, 'integrations:read']));
    });

    it('serves no OpenID Connect discovery document, and says where the RFC 8414 metadata is', async () => {
      const res = await fetch(`${lk.url}/.well-known/openid-configuration`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await res.json()) as Record<string, unknown>;
      expect(problem).toMatchObject({ status: 404, code: 'not_an_openid_provider' });
      expect(problem.detail).toContain(`${lk.config.issuer}/.well-known/oauth-authorization-server`);
    });

    it('never writes a secret or a token to the log', async () => {
      const { body } = await tokenFor(lk, clientId, secret);
      const logs = lk.logs.join('\n');
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(body.access_token as string);
    });
  });

  describe('the seed token cache', () => {
    const clock = createManualClock(Date.UTC(2026, 10, 27, 12));
    let lk: TestLatchkey;
    beforeAll(async () => {
      lk = await startTestLatchkey({ dialect, clock });
    });
    afterAll(async () => lk?.close());
    afterEach(() => undefined);

    it('returns the same token with expires_in counting down until the refresh window opens', async () => {
      const { integration, clientSecret } = await lk.createIntegration();
      const first = await tokenFor(lk, integration.clientId, clientSecret);
      clock.advance(10_000);
      const second = await tokenFor(lk, integration.clientId, clientSecret);
      expect(second.body.access_token).toBe(first.body.access_token);
      expect(second.body.expires_in).toBe(86400 - 10);
      // One second before the window: still the same token.
      clock.advance((86400 - 3600 - 10 - 1) * 1000);
      const before = await tokenFor(lk, integration.clientId, clientSecret);
      expect(before.body.access_token).toBe(first.body.access_token);
      expect(before.body.expires_in).toBe(3601);
      clock.advance(1000);
      const renewed = await tokenFor(lk, integration.clientId, clientSecret);
      expect(renewed.body.access_token).not.toBe(first.body.access_token);
      expect(renewed.body.expires_in).toBe(86400);
    });

    it('keeps separate tokens per integration, per audience and per scope set', async () => {
      const a = await lk.createIntegration({ grants: { 'environment-api': ALL, 'platform-api': ['integrations:read'] } });
      const b = await lk.createIntegration();
      const tokens = [
        await tokenFor(lk, a.integration.clientId, a.clientSecret),
        await tokenFor(lk, b.integration.clientId, b.clientSecret),
        await tokenFor(lk, a.integration.clientId, a.clientSecret, { audience: lk.config.platformApiAudience }),
        await tokenFor(lk, a.integration.clientId, a.clientSecret, { scope: 'media:read' }),
      ].map((t) => t.body.access_token);
      expect(new Set(tokens).size).toBe(4);
      // Scope order does not matter: equal sets share a token.
      const x = await tokenFor(lk, a.integration.clientId, a.clientSecret, { scope: 'fonts:read media:read' });
      const y = await tokenFor(lk, a.integration.clientId, a.clientSecret, { scope: 'media:read fonts:read' });
      expect(x.body.access_token).toBe(y.body.access_token);
    });

    it('mints a new token at once after a permission change, with the new scopes', async () => {
      const { integration, clientSecret } = await lk.createIntegration();
      const before = await tokenFor(lk, integration.clientId, clientSecret);
      await setPermissions(lk.server.runtime.platform, integration.clientId, { 'environment-api': READ_ONLY }, TEST_CONTEXT);
      const after = await tokenFor(lk, integration.clientId, clientSecret);
      expect(after.body.access_token).not.toBe(before.body.access_token);
      expect(after.body.scope).toBe(READ_ONLY.join(' '));
    });

    it('rotating the secret starts a new generation; the old secret works only during the grace period', async () => {
      const { integration, clientSecret: oldSecret } = await lk.createIntegration();
      const before = await tokenFor(lk, integration.clientId, oldSecret);
      const { clientSecret: newSecret } = await rotateSecret(lk.server.runtime.platform, integration.clientId, { graceSeconds: 60 }, TEST_CONTEXT);
      const withNew = await tokenFor(lk, integration.clientId, newSecret);
      expect(withNew.res.status).toBe(200);
      expect(withNew.body.access_token).not.toBe(before.body.access_token);
      expect((await tokenFor(lk, integration.clientId, oldSecret)).res.status).toBe(200);
      clock.advance(61_000);
      expect((await tokenFor(lk, integration.clientId, oldSecret)).res.status).toBe(401);
      expect((await tokenFor(lk, integration.clientId, newSecret)).res.status).toBe(200);
    });

    it('answers invalid_client at once for a disabled or deleted integration', async () => {
      const { integration, clientSecret } = await lk.createIntegration();
      expect((await tokenFor(lk, integration.clientId, clientSecret)).res.status).toBe(200);
      await setIntegrationDisabled(lk.server.runtime.platform, integration.clientId, true, TEST_CONTEXT);
      const disabled = await tokenFor(lk, integration.clientId, clientSecret);
      expect(disabled.res.status).toBe(401);
      expect(disabled.body.error).toBe('invalid_client');
      await setIntegrationDisabled(lk.server.runtime.platform, integration.clientId, false, TEST_CONTEXT);
      expect((await tokenFor(lk, integration.clientId, clientSecret)).res.status).toBe(200);
      await deleteIntegration(lk.server.runtime.platform, integration.clientId, TEST_CONTEXT);
      expect((await tokenFor(lk, integration.clientId, clientSecret)).res.status).toBe(401);
    });

    it('gives a burst of concurrent first requests one token', async () => {
      const { integration, clientSecret } = await lk.createIntegration();
      const answers = await Promise.all(Array.from({ length: 25 }, () => tokenFor(lk, integration.clientId, clientSecret)));
      expect(answers.every((a) => a.res.status === 200)).toBe(true);
      expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
    });

    it('publishes a rotated key before it signs and keeps the old key published while its tokens live', async () => {
      const { integration, clientSecret } = await lk.createIntegration();
      const runtime = lk.server.runtime;
      const oldKid = runtime.keyStore.signer(clock.now()).kid;
      const rotated = await rotateSigningKey({ database: lk.database, signingKeySealKey: runtime.keys.signingKeySealKey, tokenTtlSeconds: 86400 }, 'ES256', clock.now(), 300, TEST_CONTEXT);
      const jwks = async () => ((await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet).keys.map((k) => k.kid);
      // Written like the CLI's `keys rotate`, straight to the database: the server sees it within the documented second.
      await expect.poll(jwks, { timeout: 1000, interval: 25 }).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
      const during = await tokenFor(lk, integration.clientId, clientSecret, { scope: 'templates:read' });
      expect(decodeProtectedHeader(during.body.access_token as string).kid).toBe(oldKid);
      clock.advance(301_000);
      const after = await tokenFor(lk, integration.clientId, clientSecret, { scope: 'projects:read' });
      expect(decodeProtectedHeader(after.body.access_token as string).kid).toBe(rotated.kid);
      expect(await jwks()).toContain(oldKid);
      // Once every token the old key signed has expired, it leaves the JWKS.
      clock.advance(86400_000 + 1000);
      expect(await jwks()).not.toContain(oldKid);
    });
  });

  // One server per SQLite database (test/serving-lease.test.ts); several instances need PostgreSQL.
  it.runIf(dialect === 'postgres')('hands out one token from several instances over one database', async () => {
    const first = await startTestLatchkey({ dialect });
    const second = await startTestLatchkey({ dialect, testDatabase: first.testDatabase });
    try {
      const { integration, clientSecret } = await first.createIntegration();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => tokenFor(i % 2 ? second : first, integration.clientId, clientSecret)),
      );
      expect(answers.every((a) => a.res.status === 200)).toBe(true);
      expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
      const jwksOf = async (lk: TestLatchkey) => (await fetch(`${lk.url}/.well-known/jwks.json`)).text();
      expect(await jwksOf(first)).toBe(await jwksOf(second));
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe('configuration', () => {
  it('stops with one line naming both variables when the TTL is not above the refresh window', () => {
    expect(() => loadConfig({ LATCHKEY_TOKEN_TTL: '3600', LATCHKEY_TOKEN_REFRESH_WINDOW: '3600' })).toThrow(ConfigError);
    expect(() => loadConfig({ LATCHKEY_TOKEN_TTL: '3600', LATCHKEY_TOKEN_REFRESH_WINDOW: '3600' })).toThrow(/LATCHKEY_TOKEN_TTL.*LATCHKEY_TOKEN_REFRESH_WINDOW/);
  });
  it('names the variable of a malformed value', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^PORT must be a whole number/);
    expect(() => loadConfig({ LATCHKEY_DATABASE_URL: 'mysql://x' })).toThrow(/LATCHKEY_DATABASE_URL/);
    expect(() => loadConfig({ LATCHKEY_ISSUER: 'not a url' })).toThrow(/LATCHKEY_ISSUER/);
  });
});

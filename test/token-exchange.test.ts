import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64url, calculateJwkThumbprint, createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import { adminSession, type SessionClient } from './support/platform-client.ts';
import { setIntegrationDisabled } from '../packages/server/src/platform/integrations.ts';

// RFC 8693 token exchange at /oauth/token: a backend's own access token for a short-lived, read-only
// browser token, bound to a key with DPoP (RFC 9449) when the request carries a proof; and the Origin
// rule for client_credentials. docs/browser-tokens.md is the contract these tests hold it to.

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ['templates:read', 'projects:read', 'media:read', 'fonts:read'];

type Body = Record<string, unknown>;

/** A browser's DPoP key and the proofs it signs (RFC 9449 §4.2). */
interface DpopKey {
  jwk: JWK;
  jkt: string;
  proof(claims?: { htm?: string; htu?: string; iat?: number; jti?: string; ath?: string }): Promise<string>;
}

describe.each(DIALECTS)('token exchange: browser tokens (%s)', (dialect) => {
  // A manual clock: expiry is reached by moving time, never by sleeping; DPoP proofs carry its iat.
  const clock = createManualClock(Date.now());
  let lk: TestLatchkey;
  let admin: SessionClient;
  let backend: { clientId: string; secret: string };
  let tokenEndpoint: string;

  const nowSeconds = () => Math.floor(clock.now() / 1000);

  async function dpopKey(): Promise<DpopKey> {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    return {
      jwk,
      jkt: await calculateJwkThumbprint(jwk, 'sha256'),
      proof: (claims = {}) =>
        new SignJWT({ htm: claims.htm ?? 'POST', htu: claims.htu ?? tokenEndpoint, iat: claims.iat ?? nowSeconds(), jti: claims.jti ?? randomUUID(), ...(claims.ath === undefined ? {} : { ath: claims.ath }) })
          .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
          .sign(privateKey),
    };
  }

  async function post(params: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Body }> {
    const res = await lk.postToken(params, headers);
    return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
  }

  async function backendToken(who: { clientId: string; secret: string }, params: Record<string, string> = {}): Promise<string> {
    const answer = await post({ grant_type: 'client_credentials', ...params }, { authorization: basicAuthorization(who.clientId, who.secret) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.access_token as string;
  }

  function exchange(who: { clientId: string; secret: string }, subjectToken: string, params: Record<string, string> = {}, headers: Record<string, string> = {}) {
    return post({ grant_type: EXCHANGE, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN, ...params }, { authorization: basicAuthorization(who.clientId, who.secret), ...headers });
  }

  function expectError(answer: { status: number; headers: Headers; body: Body }, status: number, error: string, description?: string | RegExp): void {
    expect({ status: answer.status, error: answer.body.error }, JSON.stringify(answer.body)).toEqual({ status, error });
    expect(Object.keys(answer.body).sort()).toEqual(['error', 'error_description']);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // RFC 6749 §5.2: printable ASCII without " and \.
    expect(answer.body.error_description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    if (description !== undefined) expect(answer.body.error_description).toMatch(description);
  }

  async function verify(token: string) {
    const jwks = (await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    return jwtVerify(token, createLocalJWKSet(jwks), { issuer: lk.config.issuer, typ: 'at+jwt', currentDate: new Date(clock.now()) });
  }

  /** An integration of `environmentId` with `grants`, allowed browser tokens (through the Platform API) unless told otherwise. */
  async function integration(options: { environmentId?: string; grants?: Record<string, string[]>; browserTokens?: boolean } = {}) {
    const environmentId = options.environmentId ?? 'demo';
    const created = await lk.createIntegration({ environmentId, grants: options.grants ?? { 'environment-api': ALL } });
    const clientId = created.integration.clientId;
    if (options.browserTokens !== false) {
      const patched = await admin.request('PATCH', `/api/v1/environments/${environmentId}/integrations/${clientId}`, { body: { browserTokens: true } });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body.browserTokens).toBe(true);
    }
    return { clientId, secret: created.clientSecret };
  }

  async function setEnvironment(environmentId: string, settings: { browserTokenLifetimeSeconds?: number; allowClientCredentialsFromBrowser?: boolean }) {
    const answer = await admin.request('PATCH', `/api/v1/environments/${environmentId}/browser-tokens`, { body: settings });
    expect(answer.status, answer.text).toBe(200);
  }

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect, clock });
    tokenEndpoint = `${lk.config.issuer}/oauth/token`;
    admin = await adminSession(lk, 'root@example.com', { platformAdmin: true });
    await lk.createEnvironment('other');
    backend = await integration();
  });
  afterAll(async () => lk?.close());

  describe('success', () => {
    it('exchanges the backend token for a read-only bearer browser token with act and browser claims, without DPoP', async () => {
      const subject = await backendToken(backend);
      const answer = await exchange(backend, subject);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('pragma')).toBe('no-cache');
      expect(Object.keys(answer.body).sort()).toEqual(['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type']);
      expect(answer.body).toMatchObject({ issued_token_type: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 900, scope: READ_ONLY.join(' ') });

      const { payload, protectedHeader } = await verify(answer.body.access_token as string);
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload).toMatchObject({
        iss: lk.config.issuer,
        aud: lk.config.environmentApiAudience,
        sub: backend.clientId,
        client_id: backend.clientId,
        scope: READ_ONLY.join(' '),
        environment: 'demo',
        act: { sub: backend.clientId },
        browser: true,
      });
      expect(payload).not.toHaveProperty('cnf');
      expect(payload.exp! - payload.iat!).toBe(900);
      expect(typeof payload.jti).toBe('string');
      expect(payload.jti).not.toBe(decodeJwt(subject).jti);
    });

    it('binds the token to the DPoP proof key: token_type DPoP and cnf.jkt = its RFC 7638 thumbprint', async () => {
      const key = await dpopKey();
      const answer = await exchange(backend, await backendToken(backend), { scope: 'media:read fonts:read' }, { dpop: await key.proof() });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'DPoP', issued_token_type: ACCESS_TOKEN, scope: 'media:read fonts:read' });
      const { payload } = await verify(answer.body.access_token as string);
      expect(payload.cnf).toEqual({ jkt: key.jkt });
      expect(payload).toMatchObject({ browser: true, act: { sub: backend.clientId }, scope: 'media:read fonts:read' });
    });

    it('gives a bound token the Environment API accepts with a proof of its key, and refuses as a bearer, replayed or for writing', async () => {
      const key = await dpopKey();
      const token = (await exchange(backend, await backendToken(backend), {}, { dpop: await key.proof() })).body.access_token as string;
      const templates = `${lk.url}/api/v1/environments/demo/templates`;
      const ath = base64url.encode(createHash('sha256').update(token).digest());
      const proof = await key.proof({ htm: 'GET', htu: templates, ath });
      const call = (method: string, authorization: string, dpop?: string) =>
        fetch(templates, { method, headers: { authorization, ...(dpop === undefined ? {} : { dpop }), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, body: method === 'POST' ? '{}' : undefined });
      expect((await call('GET', `DPoP ${token}`, proof)).status).toBe(200);
      // The same proof again, the token without a proof, and the token copied out as a bearer token.
      expect((await call('GET', `DPoP ${token}`, proof)).status).toBe(401);
      expect((await call('GET', `DPoP ${token}`)).status).toBe(401);
      expect((await call('GET', `Bearer ${token}`)).status).toBe(401);
      // Another key cannot use it.
      const thief = await dpopKey();
      expect((await call('GET', `DPoP ${token}`, await thief.proof({ htm: 'GET', htu: templates, ath }))).status).toBe(401);
      // Read scopes only: a write is refused even with a valid proof.
      expect((await call('POST', `DPoP ${token}`, await key.proof({ htm: 'POST', htu: templates, ath }))).status).toBe(403);
    });

    it('mints a new token for every exchange (nothing cached) and takes the lifetime from the environment, at once', async () => {
      const subject = await backendToken(backend);
      const first = await exchange(backend, subject);
      const second = await exchange(backend, subject);
      expect(first.body.access_token).not.toBe(second.body.access_token);
      await setEnvironment('demo', { browserTokenLifetimeSeconds: 120 });
      try {
        const short = await exchange(backend, subject);
        expect(short.body.expires_in).toBe(120);
        const { payload } = await verify(short.body.access_token as string);
        expect(payload.exp! - payload.iat!).toBe(120);
      } finally {
        await setEnvironment('demo', { browserTokenLifetimeSeconds: 900 });
      }
    });

    it('accepts client_secret_post, a JSON body, and audience/resource naming the subject token API', async () => {
      const subject = await backendToken(backend);
      const json = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: EXCHANGE, client_id: backend.clientId, client_secret: backend.secret, subject_token: subject, subject_token_type: ACCESS_TOKEN, requested_token_type: ACCESS_TOKEN }),
      });
      expect(json.status).toBe(200);
      for (const target of [{ audience: lk.config.environmentApiAudience }, { resource: lk.config.environmentApiAudience }] as Record<string, string>[]) {
        expect((await exchange(backend, subject, target)).status).toBe(200);
      }
    });

    it('issues read scopes only from a Platform API subject token that can write', async () => {
      const automation = await integration({ grants: { 'platform-api': ['integrations:read', 'integrations:write', 'audit:read'] } });
      const subject = await backendToken(automation, { audience: lk.config.platformApiAudience });
      const answer = await exchange(automation, subject);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.scope).toBe('integrations:read audit:read');
      expect(decodeJwt(answer.body.access_token as string).aud).toBe(lk.config.platformApiAudience);
    });
  });

  describe('refusals', () => {
    it('refuses a write scope with invalid_scope naming the read-only rule', async () => {
      const subject = await backendToken(backend);
      for (const scope of ['templates:write', 'media:read media:write']) {
        expectError(await exchange(backend, subject, { scope }), 400, 'invalid_scope', /browser tokens carry read scopes only/);
      }
      const automation = await integration({ grants: { 'platform-api': ['integrations:read', 'integrations:write'] } });
      const platformSubject = await backendToken(automation, { audience: lk.config.platformApiAudience });
      expectError(await exchange(automation, platformSubject, { scope: 'integrations:write' }), 400, 'invalid_scope', /read scopes only/);
    });

    it('refuses scopes the subject token does not hold, and a subject token without read scopes', async () => {
      const narrow = await backendToken(backend, { scope: 'media:read media:write' });
      expect((await exchange(backend, narrow, { scope: 'media:read' })).status).toBe(200);
      expectError(await exchange(backend, narrow, { scope: 'fonts:read' }), 400, 'invalid_scope', /'fonts:read' is not in the subject token/);
      const writeOnly = await backendToken(backend, { scope: 'media:write' });
      expectError(await exchange(backend, writeOnly), 400, 'invalid_scope', /no read scope/);
    });

    it('refuses an integration not allowed browser tokens with unauthorized_client saying how to allow it', async () => {
      const plain = await integration({ browserTokens: false });
      const answer = await exchange(plain, await backendToken(plain));
      expectError(answer, 400, 'unauthorized_client', /Permissions tab/);
      expect(answer.body.error_description).toContain('--browser-tokens');
      expect(answer.body.error_description).toContain('browserTokens');

      // Turned off through the Platform API: the very next exchange is refused.
      const allowed = await integration();
      const subject = await backendToken(allowed);
      expect((await exchange(allowed, subject)).status).toBe(200);
      expect((await admin.request('PATCH', `/api/v1/environments/demo/integrations/${allowed.clientId}`, { body: { browserTokens: false } })).status).toBe(200);
      expectError(await exchange(allowed, subject), 400, 'unauthorized_client');
    });

    it('refuses another integration token (same environment or another) with invalid_grant, telling nothing about it', async () => {
      const hostile = await integration();
      const victimToken = await backendToken(backend);
      const stolen = await exchange(hostile, victimToken);
      expectError(stolen, 400, 'invalid_grant');
      const garbage = await exchange(hostile, 'not-a-token');
      expect(stolen.body).toEqual(garbage.body);
      const elsewhere = await integration({ environmentId: 'other' });
      expectError(await exchange(elsewhere, victimToken), 400, 'invalid_grant');
    });

    it('refuses garbage, a foreign issuer, an expired, a revoked and an integration-revoked subject token, and a browser token', async () => {
      const who = await integration();
      expectError(await exchange(who, 'eyJhbGciOiJub25lIn0.e30.'), 400, 'invalid_grant', /unexpired, unrevoked access token this server issued to this client/);

      // Same claims, signed by a key this server never published.
      const { privateKey } = await generateKeyPair('ES256');
      const now = nowSeconds();
      const foreign = await new SignJWT({ iss: lk.config.issuer, aud: lk.config.environmentApiAudience, sub: who.clientId, client_id: who.clientId, iat: now, exp: now + 600, jti: randomUUID(), scope: READ_ONLY.join(' '), environment: 'demo' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-ours' })
        .sign(privateKey);
      expectError(await exchange(who, foreign), 400, 'invalid_grant');

      // RFC 7009 revocation of that one token.
      const revoked = await backendToken(who, { scope: 'media:read' });
      const revoke = await fetch(`${lk.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(who.clientId, who.secret) },
        body: new URLSearchParams({ token: revoked }).toString(),
      });
      expect(revoke.status).toBe(200);
      expectError(await exchange(who, revoked), 400, 'invalid_grant');

      // A browser token is not a subject token.
      const browserToken = (await exchange(who, await backendToken(who))).body.access_token as string;
      expectError(await exchange(who, browserToken), 400, 'invalid_grant', /browser token/);

      // Every token of the integration revoked (Platform API).
      const before = await backendToken(who);
      clock.advance(1000);
      expect((await admin.request('POST', `/api/v1/environments/demo/integrations/${who.clientId}/revoke-tokens`)).status).toBe(200);
      clock.advance(1000);
      expectError(await exchange(who, before), 400, 'invalid_grant');
    });

    it('refuses an expired subject token', async () => {
      const who = await integration();
      const subject = await backendToken(who);
      clock.advance((lk.config.tokenTtlSeconds + 5) * 1000);
      try {
        expectError(await exchange(who, subject), 400, 'invalid_grant');
      } finally {
        clock.advance(-(lk.config.tokenTtlSeconds + 5) * 1000);
      }
    });

    it('answers missing or wrong token types, an actor_token and another API as invalid_request / invalid_target', async () => {
      const subject = await backendToken(backend);
      const auth = { authorization: basicAuthorization(backend.clientId, backend.secret) };
      expectError(await post({ grant_type: EXCHANGE, subject_token_type: ACCESS_TOKEN }, auth), 400, 'invalid_request', /subject_token is missing/);
      expectError(await post({ grant_type: EXCHANGE, subject_token: subject }, auth), 400, 'invalid_request', /subject_token_type is missing/);
      expectError(await exchange(backend, subject, { subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), 400, 'invalid_request', /subject_token_type must be/);
      expectError(await exchange(backend, subject, { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 400, 'invalid_request', /requested_token_type/);
      expectError(await exchange(backend, subject, { actor_token: subject, actor_token_type: ACCESS_TOKEN }), 400, 'invalid_request', /actor_token/);
      expectError(await exchange(backend, subject, { audience: lk.config.platformApiAudience }), 400, 'invalid_target', /subject token's API/);
      expectError(await exchange(backend, subject, { resource: 'https://elsewhere.example' }), 400, 'invalid_target', /unknown audience/);
    });

    it('answers a disabled integration with invalid_client', async () => {
      const who = await integration();
      const subject = await backendToken(who);
      await setIntegrationDisabled(lk.server.runtime.platform, who.clientId, true, TEST_CONTEXT);
      expectError(await exchange(who, subject), 401, 'invalid_client');
    });
  });

  describe('DPoP proof at the exchange', () => {
    it('refuses a replayed proof, a wrong htu or htm, an old or future iat, and garbage with invalid_dpop_proof', async () => {
      const key = await dpopKey();
      const subject = await backendToken(backend);
      const proof = await key.proof();
      expect((await exchange(backend, subject, {}, { dpop: proof })).status).toBe(200);
      expectError(await exchange(backend, subject, {}, { dpop: proof }), 400, 'invalid_dpop_proof');
      expectError(await exchange(backend, subject, {}, { dpop: await key.proof({ htu: `${lk.url}/oauth/revoke` }) }), 400, 'invalid_dpop_proof');
      expectError(await exchange(backend, subject, {}, { dpop: await key.proof({ htm: 'GET' }) }), 400, 'invalid_dpop_proof');
      expectError(await exchange(backend, subject, {}, { dpop: await key.proof({ iat: nowSeconds() - 600 }) }), 400, 'invalid_dpop_proof');
      expectError(await exchange(backend, subject, {}, { dpop: await key.proof({ iat: nowSeconds() + 600 }) }), 400, 'invalid_dpop_proof');
      expectError(await exchange(backend, subject, {}, { dpop: 'garbage' }), 400, 'invalid_dpop_proof');
      // A proof is not used up by a request refused for another reason.
      const spare = await key.proof();
      expectError(await exchange(backend, subject, { scope: 'media:write' }, { dpop: spare }), 400, 'invalid_scope');
      expect((await exchange(backend, subject, {}, { dpop: spare })).status).toBe(200);
    });

    it('refuses two DPoP headers (RFC 9449 §4.3: one proof per request)', async () => {
      const key = await dpopKey();
      const subject = await backendToken(backend);
      const body = new URLSearchParams({ grant_type: EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN }).toString();
      const answer = await new Promise<{ status: number; body: Body }>((resolve, reject) => {
        const request = http.request(
          tokenEndpoint,
          { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(backend.clientId, backend.secret), dpop: [key.jwk.x!, key.jwk.y!] } },
          (response) => {
            let text = '';
            response.on('data', (chunk) => (text += chunk));
            response.on('end', () => resolve({ status: response.statusCode!, body: JSON.parse(text) as Body }));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_dpop_proof');
    });
  });

  describe('client_credentials from a browser', () => {
    it('refuses a request with an Origin, even when the same request without one was just answered from memory', async () => {
      const who = await integration({ browserTokens: false });
      const auth = { authorization: basicAuthorization(who.clientId, who.secret) };
      // Twice without Origin: the second is an exact repeat the endpoint may answer from memory.
      expect((await post({ grant_type: 'client_credentials' }, auth)).status).toBe(200);
      expect((await post({ grant_type: 'client_credentials' }, auth)).status).toBe(200);
      const answer = await post({ grant_type: 'client_credentials' }, { ...auth, origin: 'https://editor.example.com' });
      expectError(answer, 400, 'unauthorized_client', /Keep the secret on your backend/);
      expect(answer.body.error_description).toContain(EXCHANGE);
      // The Fastify route (a query string keeps a request off the node:http fast path) hands the Origin over too.
      const viaFastify = await fetch(`${tokenEndpoint}?via=fastify`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://editor.example.com', ...auth },
        body: 'grant_type=client_credentials',
      });
      expect(viaFastify.status).toBe(400);
      expect(((await viaFastify.json()) as Body).error).toBe('unauthorized_client');
    });

    it('records the Origin on the integration (browserUse), refused or allowed, and answers when the environment allows it', async () => {
      await lk.createEnvironment('lenient');
      const who = await integration({ environmentId: 'lenient', browserTokens: false });
      const path = `/api/v1/environments/lenient/integrations/${who.clientId}`;
      expect((await admin.request('GET', path)).body.browserUse).toBeNull();
      const auth = { authorization: basicAuthorization(who.clientId, who.secret) };

      expectError(await post({ grant_type: 'client_credentials' }, { ...auth, origin: 'https://first.example' }), 400, 'unauthorized_client');
      const refused = (await admin.request('GET', path)).body.browserUse;
      expect(refused).toMatchObject({ origin: 'https://first.example', ip: '127.0.0.1', count: 1 });

      // A wrong secret is not recorded: anyone can send an Origin with a public Client ID.
      const wrong = await post({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(who.clientId, `${who.secret}x`), origin: 'https://planted.example' });
      expect(wrong.status).toBe(401);
      expect((await admin.request('GET', path)).body.browserUse).toMatchObject({ origin: 'https://first.example', count: 1 });

      await setEnvironment('lenient', { allowClientCredentialsFromBrowser: true });
      const allowed = await post({ grant_type: 'client_credentials' }, { ...auth, origin: 'https://second.example' });
      expect(allowed.status, JSON.stringify(allowed.body)).toBe(200);
      const after = (await admin.request('GET', path)).body.browserUse;
      expect(after).toMatchObject({ origin: 'https://second.example', count: 2, firstSeenAt: refused.firstSeenAt });

      // Still refused in the other environments.
      expectError(await post({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(backend.clientId, backend.secret), origin: 'https://second.example' }), 400, 'unauthorized_client');
    });
  });

  describe('audit, metrics and discovery', () => {
    it('audits exchanges as token.issue with the grant, and counts them', async () => {
      const who = await integration();
      const key = await dpopKey();
      expect((await exchange(who, await backendToken(who), { scope: 'fonts:read' }, { dpop: await key.proof() })).status).toBe(200);
      expectError(await exchange(who, await backendToken(who), { scope: 'fonts:write' }), 400, 'invalid_scope');

      // token.issue entries are written in batches (every 2 s): poll up to 5 s.
      const deadline = Date.now() + 5000;
      let entries: any[] = [];
      while (Date.now() < deadline) {
        const page = await admin.request('GET', `/api/v1/audit?action=token.issue&actor=${who.clientId}&limit=50`);
        expect(page.status).toBe(200);
        entries = page.body.entries;
        if (entries.some((e) => e.details?.grantType === 'token-exchange' && e.outcome === 'invalid_scope')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const exchanged = entries.find((e) => e.details?.grantType === 'token-exchange' && e.outcome === 'success');
      expect(exchanged).toMatchObject({ target: { id: lk.config.environmentApiAudience }, details: { scopes: ['fonts:read'], browserToken: true, dpopBound: true } });
      expect(entries.find((e) => e.details?.grantType === 'token-exchange' && e.outcome === 'invalid_scope')).toBeDefined();
      expect(entries.find((e) => e.details?.grantType === undefined && e.outcome === 'success')).toBeDefined();
      // No token in any audit entry.
      expect(JSON.stringify(entries)).not.toMatch(/eyJ/);

      const metrics = await (await fetch(`${lk.url}/metrics`)).text();
      expect(Number(metrics.match(/^latchkey_token_exchanges_total\{outcome="minted"\} (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(1);
      expect(Number(metrics.match(/^latchkey_token_exchanges_total\{outcome="invalid_scope"\} (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(1);
    });

    it('introspects a bound browser token as DPoP with its cnf, act and browser claims (RFC 9449 §6.2)', async () => {
      const inspector = await integration({ grants: { 'platform-api': ['tokens:introspect'] }, browserTokens: false });
      const key = await dpopKey();
      const bound = (await exchange(backend, await backendToken(backend), {}, { dpop: await key.proof() })).body.access_token as string;
      const res = await fetch(`${lk.url}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(inspector.clientId, inspector.secret) },
        body: new URLSearchParams({ token: bound }).toString(),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt }, act: { sub: backend.clientId }, browser: true, client_id: backend.clientId });
    });

    it('lists the grant and the DPoP algorithms in the RFC 8414 metadata', async () => {
      const metadata = (await (await fetch(`${lk.url}/.well-known/oauth-authorization-server`)).json()) as Body;
      expect(metadata.grant_types_supported).toEqual(['client_credentials', EXCHANGE]);
      expect(metadata.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    });

    it('never logs a token or a proof', () => {
      const logs = lk.logs.join('\n');
      expect(logs).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });
  });
});

// Issue 2, point 8: Latchkey proven with clients nobody here wrote. openid-client discovers the
// server and runs the client credentials grant (RFC 6749 §4.4) with both client authentication
// methods; jose verifies the token as an RFC 9068 access token from the JWKS named in the metadata
// (RFC 8414); Auth0's express-oauth2-jwt-bearer, a resource server as third parties deploy it,
// accepts the token and turns away expired, tampered and wrong-audience ones (RFC 6750 §3.1).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/databases.ts';
import { createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

/** A small Express API protected by express-oauth2-jwt-bearer, configured the way its README says. */
interface ProtectedApi {
  url: string;
  get(path: string, token: string): Promise<{ status: number; body: Record<string, unknown>; wwwAuthenticate: string | null }>;
  close(): Promise<void>;
}

async function startProtectedApi(options: { issuerBaseURL: string; audience: string }): Promise<ProtectedApi> {
  const app = express();
  // Discovery over plain http works outside NODE_ENV=production (loopback only, as here).
  // strict: RFC 9068 mode — requires typ at+jwt, iat, sub, client_id and jti.
  app.use(auth({ issuerBaseURL: options.issuerBaseURL, audience: options.audience, tokenSigningAlg: 'ES256', strict: true }));
  app.get('/templates', requiredScopes('templates:read'), (req, res) => {
    res.json({ sub: req.auth?.payload.sub, environment: req.auth?.payload.environment, scope: req.auth?.payload.scope });
  });
  app.get('/templates/write-check', requiredScopes('templates:write'), (_req, res) => {
    res.json({ ok: true });
  });
  // The SDK's errors carry status and RFC 6750 headers; answer them as JSON instead of a stack page.
  app.use((err: { status?: number; code?: string; message: string; headers?: Record<string, string> }, _req: Request, res: Response, _next: NextFunction) => {
    res
      .status(err.status ?? 500)
      .set(err.headers ?? {})
      .json({ error: err.code ?? 'server_error', message: err.message });
  });
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async get(path, token) {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, wwwAuthenticate: res.headers.get('www-authenticate') };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Flips one character in the middle of the payload segment, keeping it valid base64url. */
function flipPayloadCharacter(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const i = Math.floor(payload.length / 2);
  const flipped = payload[i] === 'A' ? 'B' : 'A';
  return `${header}.${payload.slice(0, i)}${flipped}${payload.slice(i + 1)}.${signature}`;
}

/** Rewrites claims in the payload and keeps the original signature: what an attacker would try. */
function rewriteClaims(token: string, changes: Record<string, unknown>): string {
  const [header, , signature] = token.split('.') as [string, string, string];
  const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), ...changes })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

const ALL_ENVIRONMENT_SCOPES = 'templates:read templates:write projects:read projects:write media:read media:write fonts:read fonts:write';

describe.each(DIALECTS)('outside clients (%s)', (dialect) => {
  let lk: TestLatchkey;
  let clientId: string;
  let clientSecret: string;

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect });
    const created = await lk.createIntegration({ name: 'outside clients' });
    clientId = created.integration.clientId;
    clientSecret = created.clientSecret;
  });
  afterAll(async () => lk?.close());

  /**
   * openid-client's Configuration from RFC 8414 discovery (`algorithm: 'oauth2'`: Latchkey is not an
   * OpenID Provider); http is allowed because the server is on loopback.
   */
  async function discover(auth: oidc.ClientAuth): Promise<oidc.Configuration> {
    return oidc.discovery(new URL(lk.url), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' });
  }

  describe('openid-client (discovery + client credentials grant)', () => {
    it('discovers the server from /.well-known/oauth-authorization-server (RFC 8414)', async () => {
      const config = await discover(oidc.ClientSecretBasic(clientSecret));
      const metadata = config.serverMetadata();
      expect(metadata.issuer).toBe(lk.url);
      expect(metadata.token_endpoint).toBe(`${lk.url}/oauth/token`);
      expect(metadata.jwks_uri).toBe(`${lk.url}/.well-known/jwks.json`);
      expect(metadata.grant_types_supported).toContain('client_credentials');
      expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    });

    it("tells openid-client's default OpenID Connect discovery where the OAuth metadata is", async () => {
      const failure = await oidc.discovery(new URL(lk.url), clientId, clientSecret, undefined, { execute: [oidc.allowInsecureRequests] }).then(
        () => null,
        (error: unknown) => error,
      );
      // openid-client reports the 404 as a non-conforming response and keeps it as the cause.
      expect(failure).toMatchObject({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 404 } });
      const body = (await ((failure as Error).cause as globalThis.Response).json()) as { status: number; code: string; detail: string };
      expect(body).toMatchObject({ status: 404, code: 'not_an_openid_provider' });
      expect(body.detail).toContain(`${lk.url}/.well-known/oauth-authorization-server`);
      expect(body.detail).toContain("algorithm: 'oauth2'");
    });

    it('gets a token with client_secret_basic and an RFC 8707 resource', async () => {
      const config = await discover(oidc.ClientSecretBasic(clientSecret));
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'templates:read projects:read', resource: lk.config.environmentApiAudience });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      // Whole seconds remaining: a mint that straddles a second boundary answers TTL - 1.
      expect(tokens.expires_in).toBeGreaterThanOrEqual(lk.config.tokenTtlSeconds - 1);
      expect(tokens.expires_in).toBeLessThanOrEqual(lk.config.tokenTtlSeconds);
      expect(tokens.scope).toBe('templates:read projects:read');
      expect(tokens.refresh_token).toBeUndefined();
      expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: lk.config.environmentApiAudience, client_id: clientId, scope: 'templates:read projects:read' });
    });

    it('gets a token with client_secret_post and an audience', async () => {
      const config = await discover(oidc.ClientSecretPost(clientSecret));
      const tokens = await oidc.clientCredentialsGrant(config, { scope: 'templates:read', audience: lk.config.environmentApiAudience });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.scope).toBe('templates:read');
      expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: lk.config.environmentApiAudience, sub: clientId, scope: 'templates:read' });

      // openid-client's own default when given just the secret string is client_secret_post too.
      const byDefault = await oidc.discovery(new URL(lk.url), clientId, clientSecret, undefined, { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' });
      const again = await oidc.clientCredentialsGrant(byDefault, { scope: 'templates:read', audience: lk.config.environmentApiAudience });
      expect(again.access_token).toBe(tokens.access_token);
    });

    it('gets the same cached token through both authentication methods', async () => {
      const basic = await oidc.clientCredentialsGrant(await discover(oidc.ClientSecretBasic(clientSecret)), { scope: 'media:read fonts:read' });
      const post = await oidc.clientCredentialsGrant(await discover(oidc.ClientSecretPost(clientSecret)), { scope: 'fonts:read media:read' });
      expect(post.access_token).toBe(basic.access_token);
    });

    it('surfaces invalid_client to openid-client for a wrong secret', async () => {
      const wrongSecret = `${clientSecret.slice(0, -1)}${clientSecret.endsWith('x') ? 'y' : 'x'}`;
      const fail = (config: oidc.Configuration) =>
        oidc.clientCredentialsGrant(config).then(
          () => null,
          (error: unknown) => error,
        );

      // Both methods: the 401 carries `WWW-Authenticate: Basic` (RFC 6749 §5.2 for Basic, RFC 9110
      // §15.5.2 for every 401), which openid-client reports as a challenge before reading the body.
      for (const auth of [oidc.ClientSecretPost(wrongSecret), oidc.ClientSecretBasic(wrongSecret)]) {
        const failure = await fail(await discover(auth));
        expect(failure).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
        const challenge = failure as oidc.WWWAuthenticateChallengeError;
        expect(challenge.status).toBe(401);
        expect(challenge.cause[0]).toMatchObject({ scheme: 'basic', parameters: { realm: 'latchkey' } });
        expect(await challenge.response.json()).toMatchObject({ error: 'invalid_client' });
      }
    });
  });

  describe('jose (createRemoteJWKSet + jwtVerify with the issuer and audience from discovery)', () => {
    it('verifies the token as an RFC 9068 access token', async () => {
      const config = await discover(oidc.ClientSecretBasic(clientSecret));
      const metadata = config.serverMetadata();
      const { access_token: token } = await oidc.clientCredentialsGrant(config, { scope: 'templates:read' });

      const audience = lk.config.environmentApiAudience;
      expect((metadata as Record<string, unknown>).resources_supported).toContain(audience);
      const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: metadata.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] });

      expect(protectedHeader.typ).toBe('at+jwt');
      expect(protectedHeader.alg).toBe('ES256');
      const published = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: JWK[] };
      expect(published.keys.map((key) => key.kid)).toContain(protectedHeader.kid);
      expect(published.keys.every((key) => key.d === undefined)).toBe(true);

      expect(payload.iss).toBe(lk.url);
      expect(payload.sub).toBe(clientId);
      expect(payload.client_id).toBe(clientId);
      expect(payload.aud).toBe(audience);
      expect(payload.scope).toBe('templates:read');
      expect(payload.environment).toBe('demo');
      expect(typeof payload.jti).toBe('string');
      expect(payload.jti!.length).toBeGreaterThanOrEqual(16);
      expect(Number.isInteger(payload.iat)).toBe(true);
      expect(payload.exp! - payload.iat!).toBe(lk.config.tokenTtlSeconds);
      expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
    });

    it('refuses the token for another audience or issuer', async () => {
      const config = await discover(oidc.ClientSecretBasic(clientSecret));
      const metadata = config.serverMetadata();
      const { access_token: token } = await oidc.clientCredentialsGrant(config);
      const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));
      await expect(jwtVerify(token, jwks, { issuer: metadata.issuer, audience: lk.config.platformApiAudience, typ: 'at+jwt' })).rejects.toMatchObject({
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        claim: 'aud',
      });
      await expect(jwtVerify(token, jwks, { issuer: 'https://elsewhere.example', audience: lk.config.environmentApiAudience })).rejects.toMatchObject({
        claim: 'iss',
      });
    });
  });

  describe("Auth0's express-oauth2-jwt-bearer in an Express app", () => {
    let api: ProtectedApi;
    beforeAll(async () => {
      api = await startProtectedApi({ issuerBaseURL: lk.url, audience: lk.config.environmentApiAudience });
    });
    afterAll(async () => api?.close());

    async function environmentToken(scope?: string): Promise<string> {
      const config = await discover(oidc.ClientSecretBasic(clientSecret));
      return (await oidc.clientCredentialsGrant(config, scope ? { scope } : {})).access_token;
    }

    it('accepts a Latchkey token and enforces requiredScopes', async () => {
      const res = await api.get('/templates', await environmentToken());
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ sub: clientId, environment: 'demo', scope: ALL_ENVIRONMENT_SCOPES });
    });

    it('answers 403 insufficient_scope when the token lacks the scope the route requires', async () => {
      const token = await environmentToken('templates:read');
      expect((await api.get('/templates', token)).status).toBe(200);
      const res = await api.get('/templates/write-check', token);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.wwwAuthenticate).toMatch(/error="insufficient_scope"/);
      expect(res.wwwAuthenticate).toMatch(/scope="templates:write"/);
    });

    it('rejects a token whose payload was tampered with', async () => {
      const token = await environmentToken('templates:read');
      for (const tampered of [flipPayloadCharacter(token), rewriteClaims(token, { scope: ALL_ENVIRONMENT_SCOPES }), rewriteClaims(token, { environment: 'other' })]) {
        expect(tampered).not.toBe(token);
        const res = await api.get('/templates', tampered);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('invalid_token');
        expect(res.wwwAuthenticate).toMatch(/^Bearer realm="api", error="invalid_token"/);
      }
      // The rewritten-claims case is refused for its signature, not for being unreadable.
      const res = await api.get('/templates', rewriteClaims(token, { scope: ALL_ENVIRONMENT_SCOPES }));
      expect(res.body.message).toMatch(/signature verification failed/);
    });

    it('rejects a token for the wrong audience (a Platform API token)', async () => {
      const { integration, clientSecret: platformSecret } = await lk.createIntegration({
        name: 'platform automation',
        grants: { 'platform-api': ['integrations:read'] },
      });
      const config = await oidc.discovery(new URL(lk.url), integration.clientId, undefined, oidc.ClientSecretBasic(platformSecret), {
        execute: [oidc.allowInsecureRequests],
        algorithm: 'oauth2',
      });
      const tokens = await oidc.clientCredentialsGrant(config, { audience: lk.config.platformApiAudience });
      expect(decodeJwt(tokens.access_token).aud).toBe(lk.config.platformApiAudience);
      expect(tokens.scope).toBe('integrations:read');

      const res = await api.get('/templates', tokens.access_token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_token', message: "Unexpected 'aud' value" });
      expect(res.wwwAuthenticate).toMatch(/error="invalid_token"/);
    });

    it('rejects an expired token and accepts the fresh one Latchkey issues after it', async () => {
      // A second server whose clock stands 120 s in the past: with a 60 s lifetime and no refresh
      // window, the token it mints expired 60 s ago in real time (well past the SDK's 5 s tolerance).
      const clock = createManualClock(Date.now() - 120_000);
      const past = await startTestLatchkey({ dialect, clock, env: { LATCHKEY_TOKEN_TTL: '60', LATCHKEY_TOKEN_REFRESH_WINDOW: '0' } });
      const pastApi = await startProtectedApi({ issuerBaseURL: past.url, audience: past.config.environmentApiAudience });
      try {
        const { integration, clientSecret: secret } = await past.createIntegration({ name: 'expiring' });
        const request = async () => {
          const config = await oidc.discovery(new URL(past.url), integration.clientId, undefined, oidc.ClientSecretBasic(secret), {
            execute: [oidc.allowInsecureRequests],
            algorithm: 'oauth2',
          });
          return (await oidc.clientCredentialsGrant(config, { scope: 'templates:read' })).access_token;
        };

        const expired = await request();
        expect(decodeJwt(expired).exp! * 1000).toBeLessThan(Date.now() - 30_000);
        const rejected = await pastApi.get('/templates', expired);
        expect(rejected.status).toBe(401);
        expect(rejected.body.error).toBe('invalid_token');
        expect(rejected.body.message).toMatch(/"exp" claim timestamp check failed/);
        expect(rejected.wwwAuthenticate).toMatch(/error="invalid_token"/);

        // Once the server's clock has reached the present, the cached token is past its expiry,
        // so Latchkey mints a new one, which the same middleware accepts.
        clock.set(Date.now());
        const fresh = await request();
        expect(fresh).not.toBe(expired);
        expect(decodeProtectedHeader(fresh).kid).toBe(decodeProtectedHeader(expired).kid);
        expect((await pastApi.get('/templates', fresh)).status).toBe(200);
      } finally {
        await pastApi.close();
        await past.close();
      }
    });
  });
});

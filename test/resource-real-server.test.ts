// Proof for @latchkey/resource (issue 5, point 6): real tokens from a real Latchkey server, and
// forged ones, against three resource servers that use the middleware — the Environment API inside
// Latchkey, a third-party Fastify API and a third-party Express API (both discovering the JWKS over
// HTTP from the issuer). Every bad token is refused with the right RFC 6750 answer.
import { createPublicKey } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type AccessTokenVerifier } from '@latchkey/resource';
import { latchkeyFastify, requireScopes as fastifyRequireScopes } from '@latchkey/resource/fastify';
import { latchkeyExpress, requireScopes as expressRequireScopes } from '@latchkey/resource/express';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, type TestLatchkey } from './support/latchkey.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));

interface Target {
  name: string;
  realm: string;
  /** GET needs templates:read, POST needs templates:write. */
  url: () => string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(DIALECTS)('@latchkey/resource against a real Latchkey (%s)', (dialect) => {
  const clock = createManualClock(Date.now());
  let lk: TestLatchkey;
  let fastifyApi: FastifyInstance;
  let expressServer: Server;
  let expressUrl = '';
  let fastifyVerifier: AccessTokenVerifier;
  let allToken: string;
  let readToken: string;
  let clientId: string;
  let audience: string;

  async function tokenFor(grants: Record<string, string[]>, params: Record<string, string> = {}): Promise<string> {
    const { integration, clientSecret } = await lk.createIntegration({ grants });
    const response = await lk.postToken({ grant_type: 'client_credentials', ...params }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
    expect(response.status).toBe(200);
    clientId = integration.clientId;
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /** A token signed with Latchkey's real signing key, with header and claims changed as asked. */
  async function forge(header: Record<string, unknown>, claims: Record<string, unknown>): Promise<string> {
    const signer = lk.server.runtime.keyStore.signer(clock.now());
    const iat = Math.floor(clock.now() / 1000);
    return new SignJWT({ client_id: clientId, scope: ALL.join(' '), environment: 'demo', ...claims })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt', ...header } as { alg: string })
      .setIssuer((claims.iss as string | undefined) ?? lk.config.issuer)
      .setSubject(clientId)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .setJti(`forged-${Math.random()}`)
      .sign(signer.privateKey);
  }

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect, clock });
    audience = lk.config.environmentApiAudience;
    readToken = await tokenFor({ 'environment-api': READ_ONLY });
    allToken = await tokenFor({ 'environment-api': ALL });
    const currentDate = () => new Date(clock.now());

    // A third-party Fastify API: discovers the JWKS over HTTP from the issuer's metadata.
    fastifyVerifier = createVerifier({ issuer: lk.config.issuer, audience, realm: 'third-party-fastify', currentDate });
    fastifyApi = Fastify();
    await fastifyApi.register(async (scope) => {
      await scope.register(latchkeyFastify(fastifyVerifier));
      scope.get('/templates', { preHandler: fastifyRequireScopes('templates:read') }, async (request) => ({ client: request.accessToken.client_id }));
      scope.post('/templates', { preHandler: fastifyRequireScopes('templates:write') }, async () => ({ created: true }));
    });
    await fastifyApi.listen({ port: 0, host: '127.0.0.1' });

    // A third-party Express API.
    const expressVerifier = createVerifier({ issuer: lk.config.issuer, audience, realm: 'third-party-express', currentDate });
    const app = express();
    app.use('/api', latchkeyExpress(expressVerifier));
    app.get('/api/templates', expressRequireScopes('templates:read'), (req, res) => {
      res.json({ client: req.accessToken?.client_id });
    });
    app.post('/api/templates', expressRequireScopes('templates:write'), (_req, res) => {
      res.json({ created: true });
    });
    expressServer = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => expressServer.once('listening', resolve));
    expressUrl = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}/api/templates`;
  });

  afterAll(async () => {
    await fastifyApi?.close();
    expressServer?.closeAllConnections();
    await new Promise((resolve) => expressServer?.close(resolve));
    await lk?.close();
  });

  const targets: Target[] = [
    { name: 'the Environment API', realm: 'latchkey-environment-api', url: () => `${lk.url}/api/v1/environments/demo/templates` },
    { name: 'a third-party Fastify API', realm: 'third-party-fastify', url: () => `http://127.0.0.1:${(fastifyApi.server.address() as AddressInfo).port}/templates` },
    { name: 'a third-party Express API', realm: 'third-party-express', url: () => expressUrl },
  ];

  async function expectRefused(target: Target, token: string, description: string, method = 'GET'): Promise<void> {
    const response = await fetch(target.url(), { method, headers: { authorization: `Bearer ${token}` } });
    const label = `${target.name}: ${description}`;
    expect(response.status, label).toBe(401);
    expect(response.headers.get('www-authenticate'), label).toBe(`Bearer realm="${target.realm}", error="invalid_token", error_description="${description}"`);
    expect(await response.json(), label).toEqual({ error: 'invalid_token', error_description: description });
  }

  it('accepts a real token on every target', async () => {
    for (const target of targets) {
      const response = await fetch(target.url(), { headers: { authorization: `Bearer ${readToken}` } });
      expect(response.status, target.name).toBe(200);
      await response.arrayBuffer();
    }
  });

  it('refuses a token for another audience (a Platform API token)', async () => {
    const platformToken = await tokenFor({ 'platform-api': ['integrations:read'] }, { audience: lk.config.platformApiAudience });
    for (const target of targets) await expectRefused(target, platformToken, 'the token is not meant for this API (aud)');
  });

  it('refuses a token from another issuer, even signed with the right key', async () => {
    const token = await forge({}, { iss: 'https://evil.example' });
    for (const target of targets) await expectRefused(target, token, 'the token was issued by another issuer (iss)');
  });

  it('refuses alg none', async () => {
    const { kid } = lk.server.runtime.keyStore.signer(clock.now());
    const iat = Math.floor(clock.now() / 1000);
    const payload = { iss: lk.config.issuer, sub: clientId, client_id: clientId, aud: audience, iat, exp: iat + 3600, jti: 'none', scope: ALL.join(' '), environment: 'demo' };
    for (const token of [`${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(payload)}.`, `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(payload)}`]) {
      for (const target of targets) {
        const response = await fetch(target.url(), { headers: { authorization: `Bearer ${token}` } });
        expect(response.status, target.name).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer realm="${target.realm}", error="invalid_token", error_description="the token (is signed with an algorithm this API does not accept|is malformed)"$`));
        await response.arrayBuffer();
      }
    }
    const token = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(payload)}.`;
    for (const target of targets) await expectRefused(target, token, 'the token is signed with an algorithm this API does not accept');
  });

  it('refuses HS256 signed with the public key as the HMAC secret (key confusion)', async () => {
    const jwks = (await (await fetch(`${lk.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const publicJwk = jwks.keys[0]!;
    const pem = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const iat = Math.floor(clock.now() / 1000);
    for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(publicJwk))]) {
      const token = await new SignJWT({ client_id: clientId, scope: ALL.join(' '), environment: 'demo' })
        .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid!, typ: 'at+jwt' })
        .setIssuer(lk.config.issuer)
        .setSubject(clientId)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 3600)
        .setJti('hs256')
        .sign(new Uint8Array(secret));
      for (const target of targets) await expectRefused(target, token, 'the token is signed with an algorithm this API does not accept');
    }
  });

  it('refuses a token signed by an unknown key, refetching the JWKS at most once per cooldown', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const iat = Math.floor(clock.now() / 1000);
    const sign = (n: number) =>
      new SignJWT({ client_id: clientId, scope: ALL.join(' '), environment: 'demo' })
        .setProtectedHeader({ alg: 'ES256', kid: `key_unknown_${n}`, typ: 'at+jwt' })
        .setIssuer(lk.config.issuer)
        .setSubject(clientId)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 3600)
        .setJti(`unknown-${n}`)
        .sign(privateKey);
    const before = fastifyVerifier.jwksFetchCount();
    for (let n = 0; n < 5; n++) {
      const token = await sign(n);
      for (const target of targets) await expectRefused(target, token, 'the token is signed with an unknown key (kid)');
    }
    expect(fastifyVerifier.jwksFetchCount() - before).toBeLessThanOrEqual(1);
  });

  it('refuses an ID token (typ JWT) and a token without typ', async () => {
    for (const typ of ['JWT', undefined]) {
      const token = await forge(typ === undefined ? { typ: undefined } : { typ }, {});
      for (const target of targets) await expectRefused(target, token, 'the token is not an access token (typ must be at+jwt)');
    }
  });

  it('refuses a token whose signature was tampered with', async () => {
    const [header, payload, signature] = allToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const widened = `${header}.${b64({ ...claims, environment: 'other' })}.${signature}`;
    for (const target of targets) await expectRefused(target, widened, 'the token signature is invalid');
  });

  it('answers 403 insufficient_scope naming the scope when a scope is missing', async () => {
    for (const target of targets) {
      const response = await fetch(target.url(), { method: 'POST', headers: { authorization: `Bearer ${readToken}`, 'content-type': 'application/json' }, body: '{"name":"T","content":{}}' });
      expect(response.status, target.name).toBe(403);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer realm="${target.realm}", error="insufficient_scope", error_description="the access token lacks a scope this request needs: templates:write", scope="templates:write"`,
      );
      expect(await response.json()).toEqual({ error: 'insufficient_scope', error_description: 'the access token lacks a scope this request needs: templates:write', scope: 'templates:write' });
    }
  });

  // Last: it moves the shared clock past every token's expiry.
  it('refuses an expired token, even one verified and cached before', async () => {
    for (const target of targets) {
      const fresh = await fetch(target.url(), { headers: { authorization: `Bearer ${allToken}` } });
      expect(fresh.status).toBe(200);
      await fresh.arrayBuffer();
    }
    clock.advance((lk.config.tokenTtlSeconds + 60) * 1000);
    for (const target of targets) await expectRefused(target, allToken, 'the access token has expired');
  });
});

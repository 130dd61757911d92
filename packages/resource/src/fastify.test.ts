import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIENCE, FakeIssuer } from '../test/support/fake-issuer.ts';
import { createVerifier } from './create-verifier.ts';
import { latchkeyFastify, requireScopes } from './fastify.ts';
import * as entry from './index.ts';
import { RevocationSet } from './revocation-set.ts';
import type { RevocationSource } from './revocation-source.ts';

let issuer: FakeIssuer;
let app: FastifyInstance;

beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});

beforeEach(async () => {
  issuer.failures.clear();
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'environment-api', currentDate: issuer.currentDate });
  app = Fastify();
  app.get('/health', async () => ({ ok: true }));
  await app.register(async (api) => {
    await api.register(latchkeyFastify(verifier));
    api.get('/templates', { preHandler: requireScopes('templates:read') }, async (request) => ({
      client: request.accessToken.client_id,
      environment: request.accessToken.environment,
    }));
    api.post<{ Body: { name: string } }>('/templates', { preHandler: requireScopes('templates:read', 'templates:write') }, async (request) => ({
      created: request.body.name,
    }));
    api.get('/whoami', async (request) => ({ sub: request.accessToken.sub }));
  });
  app.get('/unprotected-scope-check', { preHandler: requireScopes('templates:read') }, async () => ({ leaked: true }));
  await app.ready();
  return () => app.close();
});

describe('latchkeyFastify', () => {
  it('exposes the verified claims as request.accessToken', async () => {
    const token = await issuer.sign();
    const response = await app.inject({ method: 'GET', url: '/templates', headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ client: 'int_client', environment: 'env_1' });
    const whoami = await app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(whoami.json()).toEqual({ sub: 'int_client' });
  });

  it('answers a request without a token 401 with a bare challenge', async () => {
    const response = await app.inject({ method: 'GET', url: '/templates' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="environment-api"');
    expect(response.json()).toEqual({ error_description: 'this API requires a bearer access token' });
  });

  it('answers a bad token 401 invalid_token', async () => {
    const token = await issuer.sign({ aud: 'https://someone-else.test' });
    const response = await app.inject({ method: 'GET', url: '/templates', headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="environment-api", error="invalid_token", error_description="the token is not meant for this API (aud)"',
    );
    expect(response.json()).toEqual({ error: 'invalid_token', error_description: 'the token is not meant for this API (aud)' });
  });

  it('answers an expired token 401 invalid_token', async () => {
    const token = await issuer.sign({ exp: Math.floor(issuer.now / 1000) - 3600 });
    const response = await app.inject({ method: 'GET', url: '/templates', headers: { authorization: `Bearer ${token}` } });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'invalid_token', error_description: 'the access token has expired' });
  });

  it('answers a missing scope 403 insufficient_scope naming the scopes', async () => {
    const token = await issuer.sign({ scope: 'templates:read' });
    const response = await app.inject({
      method: 'POST',
      url: '/templates',
      headers: { authorization: `Bearer ${token}` },
      payload: { name: 'x' },
    });
    expect(response.statusCode).toBe(403);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="environment-api", error="insufficient_scope", ' +
        'error_description="the access token lacks a scope this request needs: templates:read templates:write", ' +
        'scope="templates:read templates:write"',
    );
    expect(response.json()).toMatchObject({ error: 'insufficient_scope', scope: 'templates:read templates:write' });
  });

  it('lets a token with every scope through', async () => {
    const token = await issuer.sign({ scope: 'templates:read templates:write' });
    const response = await app.inject({
      method: 'POST',
      url: '/templates',
      headers: { authorization: `Bearer ${token}` },
      payload: { name: 'x' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ created: 'x' });
  });

  it('refuses a token in the query string with 400 invalid_request', async () => {
    const token = await issuer.sign();
    const response = await app.inject({ method: 'GET', url: `/templates?access_token=${token}` });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request' });
    expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="environment-api", error="invalid_request"/);
  });

  it('answers 503 without a challenge when the issuer keys cannot be loaded', async () => {
    issuer.failures.set('/.well-known/jwks.json', 500);
    const response = await app.inject({ method: 'GET', url: '/templates', headers: { authorization: `Bearer ${await issuer.sign()}` } });
    issuer.failures.clear();
    expect(response.statusCode).toBe(503);
    expect(response.headers['www-authenticate']).toBeUndefined();
    expect(response.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });

  it('answers a revoked token 401 invalid_token, and 503 when a fail-closed revocation list is stale', async () => {
    const revocations = new RevocationSet();
    const stale: RevocationSource = { version: 0, isRevoked: () => false, status: () => ({ ...revocations.status(), state: 'unreachable', stale: true }) };
    const revoked = await issuer.sign();
    revocations.apply({ type: 'client', clientId: 'int_client', notBefore: Math.floor(issuer.now / 1000) + 1, expiresAt: Math.floor(issuer.now / 1000) + 3600 });
    for (const [revocation, status, body, challenge] of [
      [{ source: revocations }, 401, { error: 'invalid_token', error_description: 'the token has been revoked' }, 'Bearer realm="environment-api", error="invalid_token", error_description="the token has been revoked"'],
      [{ source: stale, failClosed: true }, 503, { error: 'temporarily_unavailable', error_description: 'the token revocation list is not up to date, try again later' }, undefined],
    ] as const) {
      const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'environment-api', currentDate: issuer.currentDate, revocation });
      const guarded = Fastify();
      await guarded.register(latchkeyFastify(verifier));
      guarded.get('/templates', async () => ({ leaked: true }));
      const response = await guarded.inject({ method: 'GET', url: '/templates', headers: { authorization: `Bearer ${revoked}` } });
      await guarded.close();
      expect(response.statusCode).toBe(status);
      expect(response.headers['www-authenticate']).toBe(challenge);
      expect(response.json()).toEqual(body);
    }
  });

  it('leaves routes outside its scope public', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
  });

  it('fails closed when requireScopes is used without the plugin', async () => {
    const response = await app.inject({ method: 'GET', url: '/unprotected-scope-check' });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('leaked');
  });

  it('can be registered in two scopes of one app', async () => {
    const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate });
    const twice = Fastify();
    await twice.register(async (a) => {
      await a.register(latchkeyFastify(verifier));
      a.get('/a', async (request) => request.accessToken.sub);
    });
    await twice.register(async (b) => {
      await b.register(latchkeyFastify(verifier));
      b.get('/b', async (request) => request.accessToken.sub);
    });
    const headers = { authorization: `Bearer ${await issuer.sign()}` };
    expect((await twice.inject({ url: '/a', headers })).body).toBe('int_client');
    expect((await twice.inject({ url: '/b', headers })).body).toBe('int_client');
    await twice.close();
  });

  it('is exported from the package entry point too', () => {
    expect(entry.latchkeyFastify).toBe(latchkeyFastify);
    expect(entry.fastifyRequireScopes).toBe(requireScopes);
  });

  it('refuses misuse at declaration', () => {
    expect(() => requireScopes()).toThrow(TypeError);
    expect(() => latchkeyFastify({} as never)).toThrow(TypeError);
  });

  it('works over a real socket too', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const ok = await fetch(`${address}/templates`, { headers: { authorization: `Bearer ${await issuer.sign()}` } });
    expect(ok.status).toBe(200);
    const missing = await fetch(`${address}/templates`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="environment-api"');
  });
});

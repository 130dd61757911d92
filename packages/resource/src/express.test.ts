import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, FakeIssuer } from '../test/support/fake-issuer.ts';
import { createVerifier } from './create-verifier.ts';
import { latchkeyExpress, requireScopes } from './express.ts';
import * as entry from './index.ts';
import { RevocationSet } from './revocation-set.ts';
import type { RevocationSource } from './revocation-source.ts';

let issuer: FakeIssuer;
let server: Server;
const revocations = new RevocationSet();
let base: string;

beforeAll(async () => {
  issuer = await FakeIssuer.start();
  const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'environment-api', currentDate: issuer.currentDate, revocation: { source: revocations } });
  // A revocation source that cannot vouch for being current, with a fail-closed verifier.
  const stale: RevocationSource = { version: 0, isRevoked: () => false, status: () => ({ ...revocations.status(), state: 'unreachable', stale: true }) };
  const strictVerifier = createVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    realm: 'environment-api',
    currentDate: issuer.currentDate,
    revocation: { source: stale, failClosed: true },
  });
  const app = express();
  app.get('/strict/templates', latchkeyExpress(strictVerifier), (_req, res) => {
    res.json({ leaked: true });
  });
  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/unprotected-scope-check', requireScopes('templates:read'), (_req, res) => {
    res.json({ leaked: true });
  });
  const api = express.Router();
  api.use(latchkeyExpress(verifier));
  api.get('/templates', requireScopes('templates:read'), (req, res) => {
    res.json({ client: req.accessToken?.client_id, environment: req.accessToken?.environment });
  });
  api.post('/templates', requireScopes('templates:read', 'templates:write'), (_req, res) => {
    res.status(201).json({ created: true });
  });
  app.use('/api', api);
  // A quiet error handler: the misuse test expects a 500, not a stack trace on stderr.
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.name });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await issuer.close();
});

function get(path: string, token?: string, method = 'GET'): Promise<globalThis.Response> {
  return fetch(`${base}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

describe('latchkeyExpress over real HTTP', () => {
  it('sets req.accessToken to the verified claims', async () => {
    const response = await get('/api/templates', await issuer.sign());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client: 'int_client', environment: 'env_1' });
  });

  it('answers a request without a token 401 with a bare challenge', async () => {
    const response = await get('/api/templates');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="environment-api"');
    expect(await response.json()).toEqual({ error_description: 'this API requires a bearer access token' });
  });

  it('answers a bad token 401 invalid_token with the RFC 6750 body', async () => {
    const response = await get('/api/templates', await issuer.sign({ iss: 'https://evil.test' }));
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="environment-api", error="invalid_token", error_description="the token was issued by another issuer (iss)"',
    );
    expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'the token was issued by another issuer (iss)' });
  });

  it('answers a missing scope 403 insufficient_scope naming the scopes', async () => {
    const response = await get('/api/templates', await issuer.sign({ scope: 'templates:read' }), 'POST');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toContain('scope="templates:read templates:write"');
    expect(await response.json()).toMatchObject({ error: 'insufficient_scope', scope: 'templates:read templates:write' });
  });

  it('lets a token with every scope through', async () => {
    const response = await get('/api/templates', await issuer.sign({ scope: 'templates:read templates:write' }), 'POST');
    expect(response.status).toBe(201);
  });

  it('refuses a token in the query string with 400 invalid_request', async () => {
    const response = await get(`/api/templates?access_token=${await issuer.sign()}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('answers a revoked token 401 invalid_token, and 503 when a fail-closed revocation list is stale', async () => {
    const token = await issuer.sign();
    revocations.apply({ type: 'token', jti: 'replayed', expiresAt: Math.floor(issuer.now / 1000) + 3600 });
    const revoked = await issuer.sign({ jti: 'replayed' });
    expect((await get('/api/templates', token)).status).toBe(200);
    const response = await get('/api/templates', revoked);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="environment-api", error="invalid_token", error_description="the token has been revoked"',
    );
    expect(await response.json()).toEqual({ error: 'invalid_token', error_description: 'the token has been revoked' });

    const unavailable = await get('/strict/templates', token);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('www-authenticate')).toBeNull();
    expect(await unavailable.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the token revocation list is not up to date, try again later',
    });
  });

  it('leaves routes it is not mounted on public, and fails closed on misuse', async () => {
    expect((await get('/health')).status).toBe(200);
    const misuse = await get('/unprotected-scope-check', await issuer.sign());
    expect(misuse.status).toBe(500);
    expect(await misuse.text()).not.toContain('leaked');
  });

  it('is exported from the package entry point too', () => {
    expect(entry.latchkeyExpress).toBe(latchkeyExpress);
    expect(entry.expressRequireScopes).toBe(requireScopes);
  });
});

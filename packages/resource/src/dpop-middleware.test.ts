// DPoP-bound tokens and the browser rule through both adapters, over real loopback HTTP: the same
// requests against latchkeyExpress and latchkeyFastify, each with the abuse a stolen token meets.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DpopKey } from '../test/support/dpop-key.ts';
import { AUDIENCE, FakeIssuer } from '../test/support/fake-issuer.ts';
import { createVerifier } from './create-verifier.ts';
import type { AccessTokenVerifier } from './create-verifier.ts';
import { latchkeyExpress, requireScopes as expressScopes } from './express.ts';
import { latchkeyFastify, requireScopes as fastifyScopes } from './fastify.ts';

const PUBLIC_URL = 'https://api.public.example/base';

interface Running {
  readonly base: string;
  close(): Promise<void>;
}

// The same routes in both frameworks: /api (rule on, relaxed for /api/relaxed), /open (rule off
// globally), /proxied (publicUrl set, as behind a reverse proxy).
async function startExpress(verifier: AccessTokenVerifier): Promise<Running> {
  const app = express();
  const api = express.Router();
  api.use(latchkeyExpress(verifier, { allowWriteTokensInBrowser: (req) => req.path === '/relaxed' }));
  api.get('/templates', expressScopes('templates:read'), (req, res) => void res.json({ client: req.accessToken?.client_id }));
  api.post('/templates', expressScopes('templates:write'), (_req, res) => void res.status(201).json({ created: true }));
  api.post('/relaxed', expressScopes('templates:write'), (_req, res) => void res.status(201).json({ created: true }));
  app.use('/api', api);
  app.post('/open/templates', latchkeyExpress(verifier, { allowWriteTokensInBrowser: true }), (_req, res) => void res.status(201).json({ created: true }));
  app.get('/proxied/templates', latchkeyExpress(verifier, { publicUrl: `${PUBLIC_URL}/` }), (_req, res) => void res.json({ ok: true }));
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startFastify(verifier: AccessTokenVerifier): Promise<Running> {
  const app = Fastify();
  await app.register(async (api) => {
    await api.register(latchkeyFastify(verifier));
    api.get('/api/templates', { preHandler: fastifyScopes('templates:read') }, async (request) => ({ client: request.accessToken.client_id }));
    api.post('/api/templates', { preHandler: fastifyScopes('templates:write') }, async (_request, reply) => reply.code(201).send({ created: true }));
    api.post('/api/relaxed', { preHandler: fastifyScopes('templates:write'), config: { allowWriteTokensInBrowser: true } }, async (_request, reply) =>
      reply.code(201).send({ created: true }),
    );
  });
  await app.register(async (open) => {
    await open.register(latchkeyFastify(verifier, { allowWriteTokensInBrowser: true }));
    open.post('/open/templates', async (_request, reply) => reply.code(201).send({ created: true }));
  });
  await app.register(async (proxied) => {
    await proxied.register(latchkeyFastify(verifier, { publicUrl: PUBLIC_URL }));
    proxied.get('/proxied/templates', async () => ({ ok: true }));
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base, close: () => app.close() };
}

let issuer: FakeIssuer;
let key: DpopKey;
let attacker: DpopKey;

beforeAll(async () => {
  issuer = await FakeIssuer.start();
  key = await DpopKey.create();
  attacker = await DpopKey.create();
});
afterAll(async () => {
  await issuer.close();
});

describe.each([
  ['express', startExpress],
  ['fastify', startFastify],
] as const)('%s: DPoP-bound tokens and the browser rule', (_name, start) => {
  let running: Running;
  let verifier: AccessTokenVerifier;
  beforeAll(async () => {
    verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, realm: 'environment-api', currentDate: issuer.currentDate, revocation: false });
    running = await start(verifier);
  });
  afterAll(async () => {
    await running.close();
  });

  const now = () => Math.floor(issuer.now / 1000);
  const bound = (overrides: Record<string, unknown> = {}) => issuer.sign({ cnf: { jkt: key.jkt }, ...overrides });
  const url = (path: string) => `${running.base}${path}`;

  /** A DPoP request: `Authorization: DPoP <token>` and, unless null, the proof. */
  async function dpopRequest(path: string, token: string, proof: string | null, init: { method?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { authorization: `DPoP ${token}`, ...init.headers };
    if (proof !== null) headers['dpop'] = proof;
    return fetch(url(path), { method: init.method ?? 'GET', headers });
  }

  async function expectRefusal(response: Response, status: number, error: string, description?: RegExp) {
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe(error);
    if (description !== undefined) expect(body.error_description).toMatch(description);
    return body;
  }

  it('accepts a bound token with a proof by its key for this method and URL, query ignored', async () => {
    const token = await bound();
    const ok = await dpopRequest('/api/templates?page=2', token, await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ client: 'int_client' });
    // The same token with a fresh proof, again: the verified-token cache never skips the proof.
    const again = await dpopRequest('/api/templates', token, await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() }));
    expect(again.status).toBe(200);
  });

  it('refuses the token copied and replayed without the key (no proof)', async () => {
    const token = await bound();
    const response = await dpopRequest('/api/templates', token, null);
    await expectRefusal(response, 401, 'invalid_dpop_proof', /no DPoP header/);
    expect(response.headers.get('www-authenticate')).toBe(
      'DPoP realm="environment-api", algs="ES256 ES384 EdDSA RS256 PS256", error="invalid_dpop_proof", error_description="the request has no DPoP header with a proof"',
    );
  });

  it('refuses a bound token sent as a plain bearer token, saying it is DPoP-bound', async () => {
    const token = await bound();
    const response = await fetch(url('/api/templates'), { headers: { authorization: `Bearer ${token}` } });
    await expectRefusal(response, 401, 'invalid_token', /DPoP-bound/);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP realm="environment-api", algs="[^"]+", error="invalid_token"/);
    // Even with a valid proof alongside: the scheme is what the client claims the token is.
    const withProof = await fetch(url('/api/templates'), {
      headers: { authorization: `Bearer ${token}`, dpop: await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() }) },
    });
    await expectRefusal(withProof, 401, 'invalid_token', /DPoP-bound/);
  });

  it('refuses a replayed proof', async () => {
    const token = await bound();
    const proof = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() });
    expect((await dpopRequest('/api/templates', token, proof)).status).toBe(200);
    await expectRefusal(await dpopRequest('/api/templates', token, proof), 401, 'invalid_dpop_proof', /used before/);
  });

  it('refuses a proof made for another URL or another method', async () => {
    const token = await bound();
    const otherUrl = await key.proof({ method: 'GET', url: url('/api/projects'), accessToken: token, iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, otherUrl), 401, 'invalid_dpop_proof', /htu/);
    const otherHost = await key.proof({ method: 'GET', url: 'https://evil.example/api/templates', accessToken: token, iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, otherHost), 401, 'invalid_dpop_proof', /htu/);
    const otherMethod = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, otherMethod, { method: 'POST' }), 401, 'invalid_dpop_proof', /htm/);
  });

  it('refuses a proof by another key, even one that is otherwise perfect', async () => {
    const token = await bound();
    const proof = await attacker.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() });
    const response = await dpopRequest('/api/templates', token, proof);
    await expectRefusal(response, 401, 'invalid_token', /cnf\.jkt/);
  });

  it('refuses a proof for another token (ath) and a stale proof', async () => {
    const token = await bound();
    const forOther = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: await bound(), iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, forOther), 401, 'invalid_dpop_proof', /ath/);
    const noAth = await key.proof({ method: 'GET', url: url('/api/templates'), iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, noAth), 401, 'invalid_dpop_proof', /ath/);
    const stale = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() - 120 });
    await expectRefusal(await dpopRequest('/api/templates', token, stale), 401, 'invalid_dpop_proof', /too old/);
  });

  it('refuses an expired bound token with a DPoP challenge, whatever the proof', async () => {
    const token = await bound({ iat: now() - 7200, exp: now() - 60 });
    const response = await dpopRequest('/api/templates', token, await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() }));
    await expectRefusal(response, 401, 'invalid_token', /expired/);
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP realm="environment-api", algs="[^"]+", error="invalid_token"/);
  });

  it('a bound token without the scope a route needs gets 403 insufficient_scope with a DPoP challenge; a bearer token a Bearer one', async () => {
    const token = await bound({ scope: 'templates:read' });
    const response = await dpopRequest('/api/templates', token, await key.proof({ method: 'POST', url: url('/api/templates'), accessToken: token, iat: now() }), { method: 'POST' });
    await expectRefusal(response, 403, 'insufficient_scope');
    expect(response.headers.get('www-authenticate')).toMatch(/^DPoP realm="environment-api", algs="[^"]+", error="insufficient_scope"/);
    const bearer = await issuer.sign({ scope: 'templates:read' });
    const plain = await fetch(url('/api/templates'), { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
    await expectRefusal(plain, 403, 'insufficient_scope');
    expect(plain.headers.get('www-authenticate')).toMatch(/^Bearer realm="environment-api", error="insufficient_scope"/);
  });

  it('refuses an unbound token under the DPoP scheme', async () => {
    const token = await issuer.sign();
    const proof = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() });
    await expectRefusal(await dpopRequest('/api/templates', token, proof), 401, 'invalid_token', /not DPoP-bound/);
    // ...while it keeps working as a plain bearer token.
    expect((await fetch(url('/api/templates'), { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('answers garbage proofs and headers 4xx, never 500', async () => {
    const token = await bound();
    for (const proof of ['x', 'a.b.c', `${'A'.repeat(20)}.${'B'.repeat(20)}.${'C'.repeat(20)}`, 'x'.repeat(10_000)]) {
      await expectRefusal(await dpopRequest('/api/templates', token, proof), 401, 'invalid_dpop_proof');
    }
    // Two proofs (Node joins repeated headers): not one JWS.
    const proof = await key.proof({ method: 'GET', url: url('/api/templates'), accessToken: token, iat: now() });
    const headers = new Headers({ authorization: `DPoP ${token}` });
    headers.append('dpop', proof);
    headers.append('dpop', proof);
    await expectRefusal(await fetch(url('/api/templates'), { headers }), 401, 'invalid_dpop_proof');
    await expectRefusal(await fetch(url('/api/templates'), { headers: { authorization: 'DPoP' } }), 400, 'invalid_request', /DPoP/);
    await expectRefusal(await fetch(url('/api/templates'), { headers: { authorization: 'DPoP a b' } }), 400, 'invalid_request', /DPoP/);
  });

  it('compares htu with publicUrl when one is set (behind a proxy)', async () => {
    const token = await bound();
    const viaProxy = await key.proof({ method: 'GET', url: `${PUBLIC_URL}/proxied/templates`, accessToken: token, iat: now() });
    expect((await dpopRequest('/proxied/templates', token, viaProxy)).status).toBe(200);
    const direct = await key.proof({ method: 'GET', url: url('/proxied/templates'), accessToken: token, iat: now() });
    await expectRefusal(await dpopRequest('/proxied/templates', token, direct), 401, 'invalid_dpop_proof', /htu/);
  });

  it('the browser rule: a write token from a page is refused 403, a read token or a backend request is not', async () => {
    const write = await issuer.sign({ scope: 'templates:read templates:write' });
    const page = { authorization: `Bearer ${write}`, origin: 'https://editor.example' };
    const refused = await fetch(url('/api/templates'), { method: 'POST', headers: page });
    const body = await expectRefusal(refused, 403, 'write_token_in_browser', /must never reach the front-end/);
    expect(body.error_description).toContain('templates:write');
    expect(body.error_description).toContain('Origin header');
    expect(refused.headers.get('www-authenticate')).toBeNull();
    // Reading with a write token from a page is refused too: the token has leaked either way.
    expect((await fetch(url('/api/templates'), { headers: page })).status).toBe(403);
    // The backend (no Origin) may use it.
    expect((await fetch(url('/api/templates'), { method: 'POST', headers: { authorization: `Bearer ${write}` } })).status).toBe(201);
    // A read-only token from a page is fine.
    const read = await issuer.sign({ scope: 'templates:read' });
    expect((await fetch(url('/api/templates'), { headers: { authorization: `Bearer ${read}`, origin: 'https://editor.example' } })).status).toBe(200);
  });

  it('the browser rule applies to bound tokens too', async () => {
    const token = await bound({ scope: 'templates:read templates:write' });
    const proof = await key.proof({ method: 'POST', url: url('/api/templates'), accessToken: token, iat: now() });
    const response = await dpopRequest('/api/templates', token, proof, { method: 'POST', headers: { origin: 'https://editor.example' } });
    await expectRefusal(response, 403, 'write_token_in_browser');
  });

  it('the browser rule can be relaxed per route and globally', async () => {
    const write = await issuer.sign({ scope: 'templates:read templates:write' });
    const page = { authorization: `Bearer ${write}`, origin: 'https://editor.example' };
    expect((await fetch(url('/api/relaxed'), { method: 'POST', headers: page })).status).toBe(201);
    expect((await fetch(url('/open/templates'), { method: 'POST', headers: page })).status).toBe(201);
  });
});

describe('the request URL behind a reverse proxy (htu)', () => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.public.example' };

  async function check(base: string, trusted: boolean) {
    const token = await issuer.sign({ cnf: { jkt: key.jkt } });
    const iat = Math.floor(issuer.now / 1000);
    const send = async (proofUrl: string) =>
      fetch(`${base}/templates`, {
        headers: { authorization: `DPoP ${token}`, dpop: await key.proof({ method: 'GET', url: proofUrl, accessToken: token, iat }), ...forwarded },
      });
    // Trusted: the forwarded protocol and host are the URL; untrusted: they are ignored (a client
    // cannot pick the URL its proof is checked against), and the socket's Host counts.
    expect((await send('https://api.public.example/templates')).status).toBe(trusted ? 200 : 401);
    expect((await send(`${base}/templates`)).status).toBe(trusted ? 401 : 200);
  }

  it.each([true, false])('fastify with trustProxy %s', async (trusted) => {
    const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, revocation: false });
    const app = Fastify({ trustProxy: trusted });
    await app.register(async (api) => {
      await api.register(latchkeyFastify(verifier));
      api.get('/templates', async () => ({ ok: true }));
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await check(base, trusted);
    } finally {
      await app.close();
    }
  });

  it.each([true, false])('express with trust proxy %s', async (trusted) => {
    const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, revocation: false });
    const app = express();
    app.set('trust proxy', trusted);
    app.get('/templates', latchkeyExpress(verifier), (_req, res) => void res.json({ ok: true }));
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    try {
      await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, trusted);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('hostile headers', () => {
  it('property: any Authorization/DPoP/Origin header values get a 400 or 401, never a 500', async () => {
    const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, revocation: false });
    const app = Fastify();
    await app.register(async (api) => {
      await api.register(latchkeyFastify(verifier));
      api.get('/templates', async () => ({ ok: true }));
    });
    await app.ready();
    const token = await issuer.sign({ cnf: { jkt: key.jkt } });
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 300 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(printable, printable.map((rest) => `DPoP ${rest}`), fc.constant(`DPoP ${token}`), fc.constant(`Bearer ${token}`)),
          fc.option(fc.oneof(printable, printable.map((rest) => `${rest}.${rest}.${rest}`)), { nil: undefined }),
          fc.option(printable, { nil: undefined }),
          async (authorization, dpop, origin) => {
            const headers: Record<string, string> = { authorization };
            if (dpop !== undefined) headers['dpop'] = dpop;
            if (origin !== undefined) headers['origin'] = origin;
            const response = await app.inject({ method: 'GET', url: '/templates', headers });
            expect([400, 401]).toContain(response.statusCode);
          },
        ),
        { numRuns: 200 },
      );
    } finally {
      await app.close();
    }
  });
});

describe('DPoP options', () => {
  it('refuses misuse at start-up', () => {
    const base = { issuer: 'https://issuer.example', audience: AUDIENCE };
    expect(() => createVerifier({ ...base, dpop: { algorithms: ['HS256'] } })).toThrow(TypeError);
    expect(() => createVerifier({ ...base, dpop: { algorithms: [] } })).toThrow(TypeError);
    expect(() => createVerifier({ ...base, dpop: { maxAgeSeconds: -1 } })).toThrow(TypeError);
    const verifier = createVerifier({ ...base, revocation: false });
    expect(() => latchkeyFastify(verifier, { publicUrl: 'not a url' })).toThrow(TypeError);
    expect(() => latchkeyExpress(verifier, { publicUrl: 'https://x.example/?q=1' })).toThrow(TypeError);
    expect(() => latchkeyExpress(verifier, { allowWriteTokensInBrowser: 'yes' as never })).toThrow(TypeError);
    expect(verifier.dpopAlgorithms).toEqual(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']);
  });

  it('verifyRequest without an adapter: needs method and htu for DPoP, and refuses a URL that is not one', async () => {
    const verifier = createVerifier({ issuer: issuer.issuer, audience: AUDIENCE, currentDate: issuer.currentDate, revocation: false });
    const token = await issuer.sign({ cnf: { jkt: key.jkt } });
    const iat = Math.floor(issuer.now / 1000);
    const dpop = await key.proof({ method: 'GET', url: 'https://api.example/x', accessToken: token, iat });
    await expect(verifier.verifyRequest({ authorization: `DPoP ${token}`, dpop })).rejects.toThrow(TypeError);
    const badHost = await verifier.verifyRequest({ authorization: `DPoP ${token}`, dpop, method: 'GET', htu: 'http://exa mple/x' }).catch((error: unknown) => error);
    expect(badHost).toMatchObject({ code: 'ERR_DPOP_PROOF_INVALID', statusCode: 401 });
    const ok = await verifier.verifyRequest({ authorization: `DPoP ${token}`, dpop, method: 'GET', htu: () => 'https://api.example/x?y=1' });
    expect(ok.cnf).toEqual({ jkt: key.jkt });
    // verify() alone checks the token, not a proof: the middleware (or verifyRequest) must be used for bound tokens.
    await expect(verifier.verify(token)).resolves.toHaveProperty('cnf');
  });
});

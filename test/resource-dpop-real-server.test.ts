// Issue 16 points 2 and 3 against a real Latchkey server: DPoP-bound tokens (signed with Latchkey's
// real signing key, as the token exchange will mint them) and the browser rule, on the three
// resource servers that use @latchkey/resource — the Environment API inside Latchkey, a third-party
// Fastify API and a third-party Express API (both discovering the keys over HTTP). The end-to-end
// with tokens from the exchange and a real browser key comes with the exchange itself.
import { createHash, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@latchkey/resource';
import { latchkeyFastify, requireScopes as fastifyRequireScopes } from '@latchkey/resource/fastify';
import { latchkeyExpress, requireScopes as expressRequireScopes } from '@latchkey/resource/express';
import { setBrowserSettings } from '../packages/server/src/environment-api/index.ts';
import { DIALECTS } from './support/databases.ts';
import { basicAuthorization, createManualClock, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const READ_ONLY = ALL.filter((scope) => scope.endsWith(':read'));
const PAGE = 'https://editor.example.com';

/** The page's key: what the browser helper keeps in WebCrypto. */
class BrowserKey {
  private constructor(private readonly privateKey: CryptoKey, private readonly jwk: JWK, readonly jkt: string) {}
  static async create(): Promise<BrowserKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    return new BrowserKey(privateKey, jwk, await calculateJwkThumbprint(jwk, 'sha256'));
  }
  proof(method: string, url: string, accessToken: string, iat: number): Promise<string> {
    const ath = base64url.encode(createHash('sha256').update(accessToken).digest());
    return new SignJWT({ jti: randomUUID(), htm: method, htu: url, iat, ath }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: this.jwk }).sign(this.privateKey);
  }
}

interface Target {
  name: string;
  /** GET needs templates:read, POST needs templates:write. */
  url: () => string;
}

describe.each(DIALECTS)('DPoP-bound tokens and the browser rule against a real Latchkey (%s)', (dialect) => {
  const clock = createManualClock(Date.now());
  let lk: TestLatchkey;
  let fastifyApi: FastifyInstance;
  let expressServer: Server;
  let expressUrl = '';
  let key: BrowserKey;
  let thief: BrowserKey;
  let clientId: string;
  let allToken: string;
  let readToken: string;

  const now = () => Math.floor(clock.now() / 1000);

  async function tokenFor(grants: string[]): Promise<string> {
    const { integration, clientSecret } = await lk.createIntegration({ grants: { 'environment-api': grants } });
    const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(integration.clientId, clientSecret) });
    expect(response.status).toBe(200);
    clientId = integration.clientId;
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /** A browser token as the exchange mints it: Latchkey's signing key, cnf.jkt, act, browser: true. */
  async function browserToken(options: { jkt?: string; scope?: string[]; lifetime?: number } = {}): Promise<string> {
    const signer = lk.server.runtime.keyStore.signer(clock.now());
    const iat = now();
    return new SignJWT({
      client_id: clientId,
      scope: (options.scope ?? READ_ONLY).join(' '),
      environment: 'demo',
      act: { sub: clientId },
      browser: true,
      cnf: { jkt: options.jkt ?? key.jkt },
    })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
      .setIssuer(lk.config.issuer)
      .setSubject(clientId)
      .setAudience(lk.config.environmentApiAudience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (options.lifetime ?? 900))
      .setJti(`browser-${randomUUID()}`)
      .sign(signer.privateKey);
  }

  beforeAll(async () => {
    lk = await startTestLatchkey({ dialect, clock });
    key = await BrowserKey.create();
    thief = await BrowserKey.create();
    readToken = await tokenFor(READ_ONLY);
    allToken = await tokenFor(ALL);
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowedOrigins: [PAGE] }, TEST_CONTEXT);
    const audience = lk.config.environmentApiAudience;
    const currentDate = () => new Date(clock.now());

    fastifyApi = Fastify();
    await fastifyApi.register(async (scope) => {
      await scope.register(latchkeyFastify(createVerifier({ issuer: lk.config.issuer, audience, currentDate })));
      scope.get('/templates', { preHandler: fastifyRequireScopes('templates:read') }, async (request) => ({ client: request.accessToken.client_id }));
      scope.post('/templates', { preHandler: fastifyRequireScopes('templates:write') }, async () => ({ created: true }));
    });
    await fastifyApi.listen({ port: 0, host: '127.0.0.1' });

    const app = express();
    app.use('/api', latchkeyExpress(createVerifier({ issuer: lk.config.issuer, audience, currentDate })));
    app.get('/api/templates', expressRequireScopes('templates:read'), (req, res) => void res.json({ client: req.accessToken?.client_id }));
    app.post('/api/templates', expressRequireScopes('templates:write'), (_req, res) => void res.json({ created: true }));
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
    { name: 'the Environment API', url: () => `${lk.url}/api/v1/environments/demo/templates` },
    { name: 'a third-party Fastify API', url: () => `http://127.0.0.1:${(fastifyApi.server.address() as AddressInfo).port}/templates` },
    { name: 'a third-party Express API', url: () => expressUrl },
  ];

  async function dpopGet(target: Target, token: string, proof: string | undefined, extra: Record<string, string> = {}) {
    return fetch(target.url(), { headers: { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof }), ...extra } });
  }

  async function expectUnauthorized(response: Response, error: string, label: string): Promise<void> {
    expect(response.status, label).toBe(401);
    expect(response.headers.get('www-authenticate'), label).toMatch(/^DPoP realm="[^"]+", algs="ES256 ES384 EdDSA RS256 PS256", error="/);
    expect(((await response.json()) as { error: string }).error, label).toBe(error);
  }

  it('accepts a bound browser token with a proof by its key, on every target', async () => {
    const token = await browserToken();
    for (const target of targets) {
      const response = await dpopGet(target, token, await key.proof('GET', target.url(), token, now()), { origin: PAGE });
      expect(response.status, target.name).toBe(200);
      await response.arrayBuffer();
    }
  });

  it('refuses the token copied out of the page and replayed without the key (curl), as DPoP or as Bearer', async () => {
    const token = await browserToken();
    for (const target of targets) {
      await expectUnauthorized(await dpopGet(target, token, undefined), 'invalid_dpop_proof', `${target.name}: no proof`);
      const asBearer = await fetch(target.url(), { headers: { authorization: `Bearer ${token}` } });
      expect(asBearer.status, target.name).toBe(401);
      expect(((await asBearer.json()) as { error_description: string }).error_description, target.name).toMatch(/DPoP-bound/);
      // The thief signs with their own key: the thumbprint is not the token's cnf.jkt.
      await expectUnauthorized(await dpopGet(target, token, await thief.proof('GET', target.url(), token, now())), 'invalid_token', `${target.name}: thief's key`);
    }
  });

  it('refuses a replayed proof and a proof for another URL or method', async () => {
    const token = await browserToken();
    for (const target of targets) {
      const proof = await key.proof('GET', target.url(), token, now());
      expect((await dpopGet(target, token, proof)).status, target.name).toBe(200);
      await expectUnauthorized(await dpopGet(target, token, proof), 'invalid_dpop_proof', `${target.name}: replay`);
      const elsewhere = await key.proof('GET', target.url().replace('templates', 'projects'), token, now());
      await expectUnauthorized(await dpopGet(target, token, elsewhere), 'invalid_dpop_proof', `${target.name}: other URL`);
      const otherMethod = await key.proof('DELETE', target.url(), token, now());
      await expectUnauthorized(await dpopGet(target, token, otherMethod), 'invalid_dpop_proof', `${target.name}: other method`);
    }
  });

  it('refuses an expired bound token', async () => {
    const token = await browserToken({ lifetime: 60 });
    clock.advance(120_000);
    for (const target of targets) {
      const response = await dpopGet(target, token, await key.proof('GET', target.url(), token, now()));
      expect(response.status, target.name).toBe(401);
      expect(response.headers.get('www-authenticate'), target.name).toContain('error_description="the access token has expired"');
      await response.arrayBuffer();
    }
  });

  it('refuses a write attempt with the read-only browser token (insufficient scope)', async () => {
    const token = await browserToken();
    for (const target of targets) {
      const response = await fetch(target.url(), {
        method: 'POST',
        headers: { authorization: `DPoP ${token}`, dpop: await key.proof('POST', target.url(), token, now()), origin: PAGE, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x', content: {} }),
      });
      expect(response.status, target.name).toBe(403);
      await response.arrayBuffer();
    }
  });

  it('the browser rule: a write-scoped token sent by a page is refused on every target; the backend and read tokens pass', async () => {
    for (const target of targets) {
      const fromPage = await fetch(target.url(), { headers: { authorization: `Bearer ${allToken}`, origin: PAGE } });
      expect(fromPage.status, target.name).toBe(403);
      const body = (await fromPage.json()) as { error?: string; code?: string; detail?: string; error_description?: string };
      // The Environment API answers in its problem+json format, the middleware in RFC 6750 JSON.
      expect(body.error ?? body.code, target.name).toBe('write_token_in_browser');
      expect(body.error_description ?? body.detail, target.name).toMatch(/^tokens with write permissions must never reach the front-end/);
      expect((await fetch(target.url(), { headers: { authorization: `Bearer ${allToken}` } })).status, target.name).toBe(200);
      expect((await fetch(target.url(), { headers: { authorization: `Bearer ${readToken}`, origin: PAGE } })).status, target.name).toBe(200);
    }
    // A write-scoped bound token from the page is refused too (the exchange never mints one, but a
    // forged or misconfigured issuer might).
    const boundWrite = await browserToken({ scope: ALL });
    for (const target of targets) {
      const response = await dpopGet(target, boundWrite, await key.proof('GET', target.url(), boundWrite, now()), { origin: PAGE });
      expect(response.status, target.name).toBe(403);
      await response.arrayBuffer();
    }
  });

  it('the Environment API lets a page send the DPoP header cross-origin and read WWW-Authenticate', async () => {
    const mediaUrl = `${lk.url}/api/v1/environments/demo/media`;
    const preflight = await fetch(mediaUrl, {
      method: 'OPTIONS',
      headers: { origin: PAGE, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,dpop' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')?.split(', ')).toContain('DPoP');
    const token = await browserToken();
    const ok = await fetch(mediaUrl, { headers: { origin: PAGE, authorization: `DPoP ${token}`, dpop: await key.proof('GET', mediaUrl, token, now()) } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(PAGE);
    await ok.arrayBuffer();
    const refused = await fetch(mediaUrl, { headers: { origin: PAGE, authorization: `DPoP ${token}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
    expect(refused.headers.get('www-authenticate')).toMatch(/^DPoP realm="latchkey-environment-api", algs="[^"]+", error="invalid_dpop_proof"/);
  });

  it('the Environment API keeps its per-environment relaxation of the browser rule', async () => {
    await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowWriteTokensInBrowser: true }, TEST_CONTEXT);
    try {
      const url = targets[0]!.url();
      // Within 1 s: the setting reaches the API's cache through the change feed.
      let status = 0;
      for (const deadline = Date.now() + 1000; Date.now() < deadline; ) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${allToken}`, origin: PAGE } });
        status = response.status;
        await response.arrayBuffer();
        if (status === 200) break;
      }
      expect(status).toBe(200);
    } finally {
      await setBrowserSettings(lk.server.runtime.platform, 'demo', { allowWriteTokensInBrowser: false }, TEST_CONTEXT);
    }
  });
});

// Issue 16, point 6: browser tokens proven in Chromium against real servers. A real Latchkey
// (token exchange, Environment API), the editor backend of examples/editor-backend (one
// all-permissions integration, POST /browser-token), its page (the built @latchkey/client/browser,
// a non-extractable WebCrypto key), and a small third-party API on another port behind
// @latchkey/resource (latchkeyExpress, CORS for the page's origin).
//
// - the page loads a font and an image from the Environment API with its DPoP-bound browser token;
// - that token, copied out of the page, is refused from Node: as Bearer, as DPoP without a proof,
//   with a proof by another key, and with the page's own proofs replayed;
// - a write with it is refused (the Environment API's CORS does not let the page try; with a proof
//   the page signed for the write, it is refused for its scopes; and by the third-party API);
// - an expired one is refused;
// - a write-scoped token in the page is refused by the third-party API's browser rule.
//
// Time: the environment's browser tokens live 60 s (the minimum). Instead of sleeping through that,
// the server runs on a clock the test can move ahead of the wall clock (the harness injects clocks),
// and the expiry case gives the page's token source a clock of its own (its `now` option), so the
// page's proofs stay within Latchkey's iat window while its token is past `exp`.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { base64url, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from '@latchkey/resource';
import { latchkeyExpress, requireScopes } from '@latchkey/resource/express';
import { hasChromium, launchChromium } from './support/browser.ts';
import { basicAuthorization, findFreePort, startTestLatchkey, TEST_CONTEXT, type TestLatchkey } from './support/latchkey.ts';
import type { ManualClock } from '../packages/server/src/support/clock.ts';
import { setBrowserSettings } from '../packages/server/src/environment-api/index.ts';
import { setBrowserTokenSettings } from '../packages/server/src/platform/environments.ts';
import { createIntegration } from '../packages/server/src/platform/integrations.ts';
import { BROWSER_SCOPES, startEditorBackend, type EditorBackend } from '../examples/editor-backend/server.ts';

const ALL = ['templates:read', 'templates:write', 'projects:read', 'projects:write', 'media:read', 'media:write', 'fonts:read', 'fonts:write'];
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const FONT_CANDIDATES = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf'];
const LIFETIME_SECONDS = 60;
const DPOP_CHALLENGE = /^DPoP realm="[^"]+", algs="ES256 ES384 EdDSA RS256 PS256", error="/;

/** The wall clock plus an offset the test sets: the server's time runs on, and can be moved ahead. */
function createOffsetClock(): ManualClock & { offsetMs: number } {
  const clock = {
    offsetMs: 0,
    now: () => Date.now() + clock.offsetMs,
    advance: (ms: number) => {
      clock.offsetMs += ms;
    },
    set: (ms: number) => {
      clock.offsetMs = ms - Date.now();
    },
  };
  return clock;
}

/** Someone else's key, in Node: a well-formed proof for the stolen token (right htm, htu, ath, fresh iat) that only the key gives away. */
async function foreignProof(method: string, url: string, accessToken: string, iat: number): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const ath = base64url.encode(createHash('sha256').update(accessToken).digest());
  return new SignJWT({ jti: randomUUID(), htm: method, htu: url, iat, ath }).setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) }).sign(privateKey);
}

/** Status, WWW-Authenticate and the RFC 6750 JSON error of a refusal. */
async function refusal(response: Response): Promise<{ status: number; challenge: string | null; error: unknown; description: unknown }> {
  const body = (await response.json()) as { error?: unknown; error_description?: unknown };
  return { status: response.status, challenge: response.headers.get('www-authenticate'), error: body.error, description: body.error_description };
}

interface SentRequest {
  url: string;
  method: string;
  authorization: string | undefined;
  dpop: string | undefined;
}

/** What a page-side fetch answered, as plain data. */
interface PageAnswer {
  status: number;
  challenge: string | null;
  body: { error?: string; error_description?: string; [key: string]: unknown };
}

describe.skipIf(!hasChromium())('browser tokens in Chromium against real servers (issue 16)', () => {
  const clock = createOffsetClock();
  let lk: TestLatchkey;
  let dataDir: string;
  let backend: EditorBackend;
  let thirdParty: Server;
  let thirdPartyUrl: string;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let clientId: string;
  let clientSecret: string;
  let fontUrl: string;
  let imageUrl: string;
  let mediaUrl: string;
  const sent: SentRequest[] = [];
  const thirdPartyWrites: string[] = [];

  /** The integration's own all-permissions token, as the backend holds it. */
  async function writeToken(): Promise<string> {
    const response = await lk.postToken({ grant_type: 'client_credentials' }, { authorization: basicAuthorization(clientId, clientSecret) });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  /** The page's requests to `url`: what it sent with them, read off the wire by the browser. */
  const sentTo = (url: string) => sent.filter((request) => request.url === url);

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-browser-tokens-'));
    lk = await startTestLatchkey({ dialect: 'sqlite', clock, env: { LATCHKEY_DATA_DIR: dataDir } });
    const platform = lk.server.runtime.platform;
    const created = await createIntegration(platform, { environmentId: 'demo', name: 'editor backend', grants: { 'environment-api': ALL }, browserTokens: true }, TEST_CONTEXT);
    clientId = created.integration.clientId;
    clientSecret = created.clientSecret;

    const backendPort = await findFreePort();
    origin = `http://localhost:${backendPort}`;
    await setBrowserSettings(platform, 'demo', { allowedOrigins: [origin] }, TEST_CONTEXT);
    await setBrowserTokenSettings(platform, 'demo', { browserTokenLifetimeSeconds: LIFETIME_SECONDS }, TEST_CONTEXT);

    const token = await writeToken();
    const upload = async (kind: string, body: Buffer, contentType: string): Promise<string> => {
      const result = await fetch(`${lk.url}/api/v1/environments/demo/${kind}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: new Uint8Array(body) });
      expect(result.status).toBe(201);
      return ((await result.json()) as { url: string }).url;
    };
    const font = FONT_CANDIDATES.find((candidate) => fs.existsSync(candidate));
    if (font === undefined) throw new Error(`no TrueType font found (looked for ${FONT_CANDIDATES.join(', ')})`);
    fontUrl = await upload('fonts?name=Brand', fs.readFileSync(font), 'font/ttf');
    imageUrl = await upload('media?name=dot.png', PNG, 'image/png');
    mediaUrl = `${lk.url}/api/v1/environments/demo/media`;

    backend = await startEditorBackend({ latchkeyUrl: lk.url, environmentId: 'demo', credentials: { clientId, clientSecret }, port: backendPort });

    // A third-party API that accepts Latchkey tokens through @latchkey/resource (browser rule on, by
    // default), readable by the editor's page: CORS for its origin, with the DPoP header allowed and
    // WWW-Authenticate exposed (the page's token source reads it to tell invalid_token apart).
    const app = express();
    app.use((req, res, next) => {
      if (req.headers.origin !== origin) return next();
      res.set({ 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': 'WWW-Authenticate' });
      if (req.method !== 'OPTIONS') return next();
      res.set({ 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'Authorization, DPoP, Content-Type', 'access-control-max-age': '600' });
      return void res.status(204).end();
    });
    app.use('/api', latchkeyExpress(createVerifier({ issuer: lk.config.issuer, audience: lk.config.environmentApiAudience, currentDate: () => new Date(clock.now()) })));
    app.get('/api/notes', requireScopes('media:read'), (req, res) => void res.json({ notes: [], reader: req.accessToken?.client_id }));
    app.post('/api/notes', requireScopes('media:write'), express.json(), (req, res) => {
      thirdPartyWrites.push(req.headers.origin ?? '(no origin)');
      res.status(201).json({ created: true });
    });
    thirdParty = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => thirdParty.once('listening', resolve));
    thirdPartyUrl = `http://127.0.0.1:${(thirdParty.address() as AddressInfo).port}/api/notes`;

    browser = await launchChromium();
    page = await browser.newPage();
    page.on('request', (request) => sent.push({ url: request.url(), method: request.method(), authorization: request.headers().authorization, dpop: request.headers().dpop }));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${backend.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    expect(errors).toEqual([]);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    thirdParty?.closeAllConnections();
    await new Promise((resolve) => (thirdParty ? thirdParty.close(resolve) : resolve(undefined)));
    await backend?.close();
    await lk?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fetch made by the page's own code, answered as plain data (CORS lets it read the refusals). */
  function pageFetch(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<PageAnswer> {
    return page.evaluate(async ({ url, init }) => {
      const response = await fetch(url, init);
      return { status: response.status, challenge: response.headers.get('www-authenticate'), body: (await response.json()) as PageAnswer['body'] };
    }, { url, init });
  }

  it('the page loads a font and an image from the Environment API with its DPoP-bound browser token', async () => {
    expect(await page.evaluate(() => [...document.fonts].filter((face) => face.status === 'loaded' && face.family.startsWith('font-')).length)).toBe(1);
    expect(await page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('#media img')].map((image) => image.naturalWidth))).toEqual([1]);

    const thumbprint = await page.evaluate(() => (window as unknown as { editor: { latchkey: { thumbprint(): Promise<string> } } }).editor.latchkey.thumbprint());
    for (const url of [fontUrl, imageUrl]) {
      const [request] = sentTo(url);
      expect(request, url).toBeDefined();
      expect(request!.authorization).toMatch(/^DPoP ey/);
      expect(request!.dpop).toMatch(/^ey/);
      const claims = decodeJwt(request!.authorization!.slice('DPoP '.length));
      expect(claims).toMatchObject({ client_id: clientId, act: { sub: clientId }, browser: true, scope: BROWSER_SCOPES.join(' '), cnf: { jkt: thumbprint } });
      expect(claims.exp! - claims.iat!).toBe(LIFETIME_SECONDS);
    }
  });

  it('the same token copied out of the page is refused from Node: as Bearer, as DPoP without a proof, with a foreign proof, with the page proofs replayed', async () => {
    const [fromPage] = sentTo(fontUrl);
    const stolen = fromPage!.authorization!.slice('DPoP '.length);
    const nowSeconds = () => Math.floor(clock.now() / 1000);

    expect(await refusal(await fetch(fontUrl, { headers: { authorization: `Bearer ${stolen}` } }))).toEqual({
      status: 401,
      challenge: expect.stringMatching(DPOP_CHALLENGE) as unknown as string,
      error: 'invalid_token',
      description: 'the access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof signed by its key',
    });
    expect(await refusal(await fetch(fontUrl, { headers: { authorization: `DPoP ${stolen}` } }))).toEqual({
      status: 401,
      challenge: expect.stringMatching(DPOP_CHALLENGE) as unknown as string,
      error: 'invalid_dpop_proof',
      description: 'the request has no DPoP header with a proof',
    });
    expect(await refusal(await fetch(fontUrl, { headers: { authorization: `DPoP ${stolen}`, dpop: await foreignProof('GET', fontUrl, stolen, nowSeconds()) } }))).toEqual({
      status: 401,
      challenge: expect.stringMatching(DPOP_CHALLENGE) as unknown as string,
      error: 'invalid_token',
      description: 'the DPoP proof is signed by another key than the one the access token is bound to (cnf.jkt)',
    });
    // The page's own proofs, copied with the token: each was used once already, and names one URL.
    const replayed = await refusal(await fetch(fontUrl, { headers: { authorization: fromPage!.authorization!, dpop: fromPage!.dpop! } }));
    expect(replayed).toMatchObject({ status: 401, error: 'invalid_dpop_proof' });
    expect(replayed.description).toMatch(/jti|replay|used/i);
    const elsewhere = await refusal(await fetch(imageUrl, { headers: { authorization: fromPage!.authorization!, dpop: fromPage!.dpop! } }));
    expect(elsewhere).toMatchObject({ status: 401, error: 'invalid_dpop_proof' });
    expect(elsewhere.description).toMatch(/htu/);
    // The third-party API refuses it the same way.
    expect(await refusal(await fetch(thirdPartyUrl, { headers: { authorization: `Bearer ${stolen}` } }))).toMatchObject({ status: 401, error: 'invalid_token' });

    // Meanwhile the page, which holds the key, still uses that very token.
    const again = await page.evaluate(async (url) => {
      const response = await (window as unknown as { editor: { latchkey: { fetch(url: string): Promise<Response> } } }).editor.latchkey.fetch(url);
      return response.status;
    }, fontUrl);
    expect(again).toBe(200);
    expect(sentTo(fontUrl).at(-1)!.authorization).toBe(`DPoP ${stolen}`);
  });

  it('a write attempt with the page token is refused', async () => {
    const mediaBefore = ((await (await fetch(mediaUrl, { headers: { authorization: `Bearer ${await writeToken()}` } })).json()) as { media: unknown[] }).media.length;

    // 1. The page tries to upload: the Environment API lets pages GET media and fonts only, so the
    //    browser stops the request at its CORS preflight and it never reaches the API.
    const upload = await page.evaluate(async (url) => {
      const { latchkey } = (window as unknown as { editor: { latchkey: { fetch(url: string, init: RequestInit): Promise<Response> } } }).editor;
      return latchkey.fetch(`${url}?name=evil.png`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' }).then((response) => `HTTP ${response.status}`, (error: Error) => `${error.name}: ${error.message}`);
    }, mediaUrl);
    expect(upload).toBe('TypeError: Failed to fetch');

    // 2. The page signs a proof for that upload with its key; sent as the browser would send it, the
    //    token itself is refused for its scopes.
    const headers = await page.evaluate(async (url) => {
      const { latchkey } = (window as unknown as { editor: { latchkey: { headersFor(method: string, url: string): Promise<{ authorization: string; dpop: string }> } } }).editor;
      return latchkey.headersFor('POST', url);
    }, mediaUrl);
    const signed = await fetch(`${mediaUrl}?name=evil.png`, { method: 'POST', headers: { ...headers, origin, 'content-type': 'image/png' }, body: new Uint8Array(PNG) });
    expect(signed.status).toBe(403);
    expect(signed.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(((await signed.json()) as { code?: string; error?: string }).error ?? '').toBe('insufficient_scope');

    // 3. The third-party API lets the page try (CORS allows POST), and refuses it for its scopes.
    const viaThirdParty = await page.evaluate(async (url) => {
      const { latchkey } = (window as unknown as { editor: { latchkey: { fetch(url: string, init: RequestInit): Promise<Response> } } }).editor;
      const response = await latchkey.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' });
      return { status: response.status, body: (await response.json()) as unknown };
    }, thirdPartyUrl);
    expect(viaThirdParty).toMatchObject({ status: 403, body: { error: 'insufficient_scope', scope: 'media:write' } });

    const mediaAfter = ((await (await fetch(mediaUrl, { headers: { authorization: `Bearer ${await writeToken()}` } })).json()) as { media: unknown[] }).media.length;
    expect(mediaAfter).toBe(mediaBefore);
    expect(thirdPartyWrites).toEqual([]);
  });

  it('a write-scoped token sent by the page to a third-party API behind @latchkey/resource is refused by the browser rule', async () => {
    // The page can read from the third-party API with its own bound browser token.
    const read = await page.evaluate(async (url) => {
      const { latchkey } = (window as unknown as { editor: { latchkey: { fetch(url: string): Promise<Response> } } }).editor;
      const response = await latchkey.fetch(url);
      return { status: response.status, body: (await response.json()) as unknown };
    }, thirdPartyUrl);
    expect(read).toEqual({ status: 200, body: { notes: [], reader: clientId } });

    // The mistake the seed warns about: the backend's all-permissions token handed to the page.
    const leaked = await writeToken();
    for (const method of ['POST', 'GET']) {
      const answer = await pageFetch(thirdPartyUrl, { method, headers: { authorization: `Bearer ${leaked}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: '{"text":"hi"}' } : {}) });
      expect(answer.status, method).toBe(403);
      expect(answer.body.error, method).toBe('write_token_in_browser');
      expect(answer.body.error_description, method).toMatch(/^tokens with write permissions must never reach the front-end\. This request comes from a browser \(it has an Origin header\) and its token carries templates:write, projects:write, media:write, fonts:write\./);
    }
    expect(thirdPartyWrites).toEqual([]);
    // Latchkey's own Environment API applies the same rule (its problem+json), even to a read.
    const environmentApi = await pageFetch(mediaUrl, { headers: { authorization: `Bearer ${leaked}` } });
    expect(environmentApi).toMatchObject({ status: 403, body: { code: 'write_token_in_browser' } });

    // The same request from a backend (no Origin) is the API's normal business: the refusal was the browser rule.
    const fromBackend = await fetch(thirdPartyUrl, { method: 'POST', headers: { authorization: `Bearer ${leaked}`, 'content-type': 'application/json' }, body: '{"text":"hi"}' });
    expect(fromBackend.status).toBe(201);
    expect(thirdPartyWrites).toEqual(['(no origin)']);
  });

  it('an expired browser token is refused, and the token source then gets a fresh one', async () => {
    // A second token source in the page, on a clock the test moves: same module, same backend. (A
    // module script, as the page's own: an import() inside page.evaluate would be rewritten by Vite.)
    await page.addScriptTag({
      type: 'module',
      content: `
        import { createBrowserTokenSource } from '/latchkey-client/browser/index.js';
        window.pageClockOffsetMs = 0;
        window.expiring = createBrowserTokenSource({
          backendUrl: '/browser-token',
          tokenEndpoint: ${JSON.stringify(`${lk.url}/oauth/token`)},
          refreshAheadSeconds: 0,
          now: () => Date.now() + window.pageClockOffsetMs,
        });`,
    });
    await page.waitForFunction(() => 'expiring' in window);
    type Expiring = { expiring: { getToken(): Promise<{ accessToken: string }>; headersFor(method: string, url: string): Promise<Record<string, string>>; fetch(url: string): Promise<Response> } };
    const useOnce = () =>
      page.evaluate(async (url) => {
        const { expiring } = window as unknown as Expiring;
        const headers = await expiring.headersFor('GET', url);
        const response = await fetch(url, { headers });
        return { status: response.status, challenge: response.headers.get('www-authenticate'), token: headers.authorization!, body: response.ok ? null : ((await response.json()) as unknown) };
      }, fontUrl);

    const fresh = await useOnce();
    expect(fresh).toMatchObject({ status: 200 });

    // Latchkey's clock moves past exp (+60 s) and its 5 s of tolerance; the page's moves only 30 s,
    // so it still holds the token and its proofs' iat is well inside Latchkey's 60 s window.
    try {
      clock.offsetMs = (LIFETIME_SECONDS + 10) * 1000;
      await page.evaluate(() => {
        (window as unknown as { pageClockOffsetMs: number }).pageClockOffsetMs = 30_000;
      });
      const expired = await useOnce();
      expect(expired.token).toBe(fresh.token);
      expect(expired).toMatchObject({ status: 401, body: { error: 'invalid_token', error_description: 'the access token has expired' } });
      expect(expired.challenge).toMatch(/^DPoP .*error="invalid_token"/);

      // The token source reads that answer, gets a new token through the backend and repeats the request.
      const recovered = await page.evaluate(async (url) => {
        const { expiring } = window as unknown as Expiring;
        const response = await expiring.fetch(url);
        return { status: response.status, token: (await expiring.getToken()).accessToken };
      }, fontUrl);
      expect(recovered.status).toBe(200);
      expect(`DPoP ${recovered.token}`).not.toBe(fresh.token);
    } finally {
      clock.offsetMs = 0;
    }
  });
});
